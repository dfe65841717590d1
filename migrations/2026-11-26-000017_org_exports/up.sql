-- Organization data exports: an owner asks, a job writes an archive of everything Beacon stores
-- for the organization (JSON Lines per table, CSV of the hourly rollups) and e-mails a download
-- link that works for seven days. The link's token is stored hashed.

CREATE TABLE org_exports (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    export_id uuid NOT NULL,
    requested_by uuid NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    expires_at timestamptz,
    size_bytes bigint CHECK (size_bytes >= 0),
    token_hash bytea CHECK (length(token_hash) = 32),
    error text CHECK (length(error) <= 500),
    PRIMARY KEY (org_id, export_id)
);
COMMENT ON TABLE org_exports IS 'Requested data exports of the organization: status, the archive''s size, the download token''s SHA-256 and when the link expires.';
ALTER TABLE org_exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_exports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON org_exports USING (org_id = beacon_current_org())
    WITH CHECK (org_id = beacon_current_org());
