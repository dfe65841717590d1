CREATE TABLE organizations (
    org_id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE organizations IS 'The tenant. Its key is named org_id like every tenant table''s.';

CREATE TABLE memberships (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);
COMMENT ON TABLE memberships IS 'Who belongs to an organization, with which role.';

CREATE TABLE invitations (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    invitation_id uuid NOT NULL,
    email text NOT NULL CHECK (email = lower(email)),
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash bytea,
    invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    PRIMARY KEY (org_id, invitation_id)
);
COMMENT ON COLUMN invitations.token_hash IS 'SHA-256 of the accept token; set by the job that e-mails it, so the secret never sits in the job queue.';

-- Row-level security: a row is visible only inside the scope of its organization.
-- memberships and organizations are also readable in a user scope, for the user's own rows:
-- that is how "my organizations" is listed without a cross-tenant query.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
CREATE POLICY member_read ON organizations FOR SELECT
    USING (org_id IN (SELECT m.org_id FROM memberships m WHERE m.user_id = beacon_current_user()));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
CREATE POLICY member_read ON memberships FOR SELECT
    USING (user_id = beacon_current_user());

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
