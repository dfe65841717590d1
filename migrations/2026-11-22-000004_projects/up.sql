CREATE TABLE projects (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    project_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    timezone text NOT NULL,
    ingest_key text NOT NULL UNIQUE,
    ingest_id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, project_id)
);
COMMENT ON TABLE projects IS 'A site or app whose events Beacon collects.';
COMMENT ON COLUMN projects.ingest_key IS 'Public key for ingestion (tracker, Sentry DSN public key). Not a secret.';
COMMENT ON COLUMN projects.ingest_id IS 'Numeric id: Sentry SDKs read the DSN project segment as leading digits.';

CREATE TABLE project_domains (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    domain text NOT NULL UNIQUE CHECK (domain = lower(domain) AND length(domain) BETWEEN 1 AND 253),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, project_id, domain),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE project_domains IS 'Domains a project collects for; a domain belongs to one project.';

ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON projects
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

ALTER TABLE project_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE project_domains FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON project_domains
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
