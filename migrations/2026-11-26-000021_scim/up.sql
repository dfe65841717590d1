-- SCIM 2.0 provisioning: an organization's identity provider creates, changes and removes its
-- members with a bearer token an owner made. The provider's view of each person and group is
-- kept as the SCIM resource it sent (so it reads back as sent); Beacon's memberships follow it.

CREATE TABLE scim_tokens (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    token_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret_hash bytea NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (org_id, token_id)
);
COMMENT ON TABLE scim_tokens IS 'Bearer tokens of SCIM clients (scim_<org>_<secret>); only the secret''s SHA-256 is stored.';

CREATE TABLE scim_users (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    scim_id uuid NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    user_name text NOT NULL CHECK (length(user_name) BETWEEN 1 AND 256),
    external_id text CHECK (length(external_id) <= 256),
    active boolean NOT NULL DEFAULT true,
    created_account boolean NOT NULL DEFAULT false,
    resource jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, scim_id)
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (org_id, lower(user_name));
CREATE UNIQUE INDEX scim_users_account ON scim_users (org_id, user_id);
COMMENT ON TABLE scim_users IS 'People the identity provider manages in the organization: its SCIM User resource, the Beacon account it is linked to (none while it has no e-mail address), and whether it is active.';
COMMENT ON COLUMN scim_users.created_account IS 'The Beacon account exists because this organization provisioned it.';

CREATE TABLE scim_groups (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    group_id uuid NOT NULL,
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    external_id text CHECK (length(external_id) <= 256),
    resource jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, group_id)
);
CREATE UNIQUE INDEX scim_groups_display_name ON scim_groups (org_id, lower(display_name));
COMMENT ON TABLE scim_groups IS 'Groups the identity provider manages; their names map to roles through sso_group_roles.';

CREATE TABLE scim_group_members (
    org_id uuid NOT NULL,
    group_id uuid NOT NULL,
    scim_id uuid NOT NULL,
    PRIMARY KEY (org_id, group_id, scim_id),
    FOREIGN KEY (org_id, group_id) REFERENCES scim_groups (org_id, group_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, scim_id) REFERENCES scim_users (org_id, scim_id) ON DELETE CASCADE
);
CREATE INDEX scim_group_members_user ON scim_group_members (org_id, scim_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['scim_tokens', 'scim_users', 'scim_groups', 'scim_group_members'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org())', t);
    END LOOP;
END $$;
