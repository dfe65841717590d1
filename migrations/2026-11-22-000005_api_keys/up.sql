CREATE TABLE api_keys (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    key_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret_hash bytea NOT NULL UNIQUE,
    prefix text NOT NULL,
    scopes text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'ingest', 'admin']::text[] AND cardinality(scopes) > 0),
    project_ids uuid[],
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (org_id, key_id)
);
COMMENT ON TABLE api_keys IS 'Organization API keys; the secret is shown once and only its SHA-256 is kept.';
COMMENT ON COLUMN api_keys.prefix IS 'First characters of the key, shown in lists so people can tell keys apart.';
COMMENT ON COLUMN api_keys.project_ids IS 'NULL: every project of the organization; otherwise only these.';

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
