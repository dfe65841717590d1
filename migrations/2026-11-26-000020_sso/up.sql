-- Single sign-on: per organization at most one connection of each kind (OIDC now, SAML
-- later), the policy that may require it, the group-to-role mapping SSO and SCIM share, the
-- short-lived state of sign-ins in flight, and which identity-provider subject is which user.

CREATE TABLE sso_connections (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('oidc', 'saml')),
    enabled boolean NOT NULL DEFAULT true,
    settings jsonb NOT NULL,
    secret bytea CHECK (length(secret) <= 4096),
    default_role text NOT NULL DEFAULT 'member' CHECK (default_role IN ('admin', 'member', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, kind)
);
COMMENT ON TABLE sso_connections IS 'An organization''s identity-provider connection (one per kind).';
COMMENT ON COLUMN sso_connections.settings IS 'Non-secret settings (issuer, client id, scopes, claim names).';
COMMENT ON COLUMN sso_connections.secret IS 'The client secret, AES-256-GCM under BEACON_SECRET_KEY (nonce then ciphertext); the key is never in the database.';

CREATE TABLE sso_policies (
    org_id uuid PRIMARY KEY REFERENCES organizations (org_id) ON DELETE CASCADE,
    enforced boolean NOT NULL DEFAULT false,
    session_hours integer NOT NULL DEFAULT 24 CHECK (session_hours BETWEEN 1 AND 720),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sso_policies IS 'Whether members must sign in through SSO (owners keep a password), and how long SSO sessions last.';

CREATE TABLE sso_group_roles (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    group_name text NOT NULL CHECK (length(group_name) BETWEEN 1 AND 256),
    role text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    PRIMARY KEY (org_id, group_name)
);
COMMENT ON TABLE sso_group_roles IS 'Identity-provider group to Beacon role, for SSO sign-ins and SCIM groups; the highest matching role wins.';

CREATE TABLE sso_logins (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    state_hash bytea NOT NULL,
    kind text NOT NULL CHECK (kind IN ('oidc', 'saml')),
    purpose text NOT NULL CHECK (purpose IN ('sign_in', 'test')),
    nonce text NOT NULL,
    pkce_verifier text,
    return_to text CHECK (length(return_to) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    outcome jsonb,
    PRIMARY KEY (org_id, state_hash)
);
COMMENT ON TABLE sso_logins IS 'Sign-ins in flight: SHA-256 of the state, the nonce and PKCE verifier; single use, expire after 10 minutes. A test sign-in keeps what the IdP sent in outcome.';

CREATE TABLE sso_identities (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('oidc', 'saml')),
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 512),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, kind, subject)
);
CREATE INDEX sso_identities_user_idx ON sso_identities (org_id, user_id);
COMMENT ON TABLE sso_identities IS 'Which identity-provider subject (OIDC sub, SAML NameID) is which Beacon user.';

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sso_connections', 'sso_policies', 'sso_group_roles', 'sso_logins', 'sso_identities'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org())', t);
    END LOOP;
END $$;

-- A session started by an organization's SSO names it: that organization lets it in when it
-- requires SSO, and it ends when the organization's SSO session age runs out.
ALTER TABLE user_sessions ADD COLUMN sso_org_id uuid REFERENCES organizations (org_id) ON DELETE CASCADE;
COMMENT ON COLUMN user_sessions.sso_org_id IS 'The organization whose single sign-on started this session; NULL for a password sign-in.';

-- Home-realm discovery: which organization verified an e-mail domain, whether it has an
-- enabled connection and whether it requires SSO. Only these facts cross tenants, for the one
-- domain asked; every other read happens in that organization's scope.
CREATE FUNCTION beacon_sso_realm(email_domain text)
    RETURNS TABLE (org_id uuid, kinds text[], enforced boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT d.org_id,
           COALESCE((SELECT array_agg(c.kind ORDER BY c.kind) FROM sso_connections c
                     WHERE c.org_id = d.org_id AND c.enabled), ARRAY[]::text[]),
           COALESCE((SELECT p.enforced FROM sso_policies p WHERE p.org_id = d.org_id), false)
    FROM org_domains d
    WHERE d.domain = lower(email_domain) AND d.verified_at IS NOT NULL
$$;
REVOKE ALL ON FUNCTION beacon_sso_realm(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon_sso_realm(text) TO beacon_app;
