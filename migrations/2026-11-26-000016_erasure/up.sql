-- Erasing an organization: an owner asks, and seven days later (unless an owner cancels) the
-- erasure job deletes every row of it. What remains is one row in erased_organizations: the
-- organization's id, when it was erased, and its audit chain's last record (sequence number
-- and hash, signed when BEACON_AUDIT_KEY is set), so the chain's end stays provable without any
-- of its content.

ALTER TABLE organizations
    ADD COLUMN erase_after timestamptz,
    ADD COLUMN erasure_requested_by uuid;
COMMENT ON COLUMN organizations.erase_after IS 'Erasure requested: the erasure job deletes the organization after this time unless an owner cancels.';

-- The erasure job (as beacon_sweeper) finds the organizations due, seeing only these columns of
-- organizations pending erasure; it then erases each in that organization's scope.
GRANT SELECT (org_id, erase_after) ON organizations TO beacon_sweeper;
CREATE POLICY sweep_erasures ON organizations FOR SELECT TO beacon_sweeper USING (erase_after IS NOT NULL);
-- organizations' member_read policy (for every role) looks into memberships, so the sweeper
-- needs these two columns to evaluate it; memberships' own policies still show it no row (it
-- has no organization or user scope).
GRANT SELECT (org_id, user_id) ON memberships TO beacon_sweeper;

CREATE TABLE erased_organizations (
    org_id uuid PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now(),
    audit_seq bigint NOT NULL CHECK (audit_seq >= 0),
    audit_hash bytea NOT NULL CHECK (length(audit_hash) = 32),
    signature bytea CHECK (length(signature) = 32)
);
COMMENT ON TABLE erased_organizations IS 'Erased organizations: id, time and the audit chain''s final checkpoint (no content, no personal data).';
REVOKE UPDATE, DELETE, TRUNCATE ON erased_organizations FROM beacon_app;
