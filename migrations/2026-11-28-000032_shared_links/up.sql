-- Shared links: a dashboard (the project's main one or a custom one) readable by anyone who has
-- the link, without an account. The link's secret is kept as its SHA-256 only; a password as
-- argon2id. A link may be limited to a shared segment (which then cannot be deleted while the
-- link uses it: dropping it would widen what the link shows) and may expire; owners and admins
-- pause or revoke it, which takes effect on the next request. Only a link without a password
-- may be embedded, in the origins listed.
CREATE TABLE shared_links (
    org_id uuid NOT NULL,
    link_id uuid NOT NULL,
    project_id uuid NOT NULL,
    dashboard_id uuid,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret_hash text NOT NULL CHECK (length(secret_hash) = 64),
    password_hash text,
    segment_id uuid,
    expires_at timestamptz,
    paused boolean NOT NULL DEFAULT false,
    embed_origins text[] NOT NULL DEFAULT '{}' CHECK (cardinality(embed_origins) <= 10),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, link_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, dashboard_id) REFERENCES dashboards (org_id, dashboard_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, segment_id) REFERENCES segments (org_id, segment_id) ON DELETE RESTRICT,
    CHECK (password_hash IS NULL OR cardinality(embed_origins) = 0)
);
COMMENT ON TABLE shared_links IS 'Links that let anyone holding them read one dashboard of a project, optionally behind a password, limited to a segment, until an expiry.';
COMMENT ON COLUMN shared_links.secret_hash IS 'SHA-256 (hex) of the secret part of the link; the secret itself is shown once.';
COMMENT ON COLUMN shared_links.embed_origins IS 'Origins allowed to frame the link (Content-Security-Policy frame-ancestors); empty: not embeddable.';
CREATE INDEX shared_links_by_project ON shared_links (org_id, project_id);

ALTER TABLE shared_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared_links FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shared_links
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
