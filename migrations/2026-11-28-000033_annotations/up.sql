-- Annotations: a note pinned to a moment of a project ("v2.3 deployed"), drawn as a marker on
-- the project's time series so a change in the numbers can be read against what happened.
CREATE TABLE annotations (
    org_id uuid NOT NULL,
    annotation_id uuid NOT NULL,
    project_id uuid NOT NULL,
    at timestamptz NOT NULL,
    text text NOT NULL CHECK (length(text) BETWEEN 1 AND 280),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, annotation_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE annotations IS 'Notes pinned to a moment of a project, shown as markers on its time series.';
CREATE INDEX annotations_by_time ON annotations (org_id, project_id, at);

ALTER TABLE annotations ENABLE ROW LEVEL SECURITY;
ALTER TABLE annotations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON annotations
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
