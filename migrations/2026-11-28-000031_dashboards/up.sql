-- Teams' own views of a project: saved segments (named filter sets) and custom dashboards (a
-- grid of widgets, each a validated stats query). A dashboard is one row whose widgets are a
-- JSON array, so an edit is one compare-and-set on `version`: two people editing one
-- dashboard never overwrite each other silently.
CREATE TABLE segments (
    org_id uuid NOT NULL,
    segment_id uuid NOT NULL,
    project_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    filters jsonb NOT NULL CHECK (jsonb_typeof(filters) = 'array'),
    owner_id uuid REFERENCES users (id) ON DELETE CASCADE,
    shared boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, segment_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE,
    -- A personal segment has an owner; one made by an API key is shared.
    CHECK (shared OR owner_id IS NOT NULL)
);
COMMENT ON TABLE segments IS 'Named Stats API filter sets of a project: personal (seen by their owner only) or shared with the organization.';
COMMENT ON COLUMN segments.filters IS 'Stats API v2 filter expressions, validated when saved; never another segment.';
CREATE INDEX segments_by_project ON segments (org_id, project_id, name);

ALTER TABLE segments ENABLE ROW LEVEL SECURITY;
ALTER TABLE segments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON segments
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

CREATE TABLE dashboards (
    org_id uuid NOT NULL,
    dashboard_id uuid NOT NULL,
    project_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    position integer NOT NULL DEFAULT 0,
    is_default boolean NOT NULL DEFAULT false,
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    period text CHECK (length(period) <= 30),
    filters jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(filters) = 'array'),
    widgets jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(widgets) = 'array'),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, dashboard_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE dashboards IS 'Custom dashboards of a project: a grid of widgets with their own period and filters.';
COMMENT ON COLUMN dashboards.version IS 'Raised by every change; a change names the version it read and is refused when another landed first.';
COMMENT ON COLUMN dashboards.widgets IS 'Widgets (kind, title, grid place, stats query or note), validated by the API when saved.';
CREATE INDEX dashboards_by_project ON dashboards (org_id, project_id, position);
CREATE UNIQUE INDEX dashboards_one_default ON dashboards (org_id, project_id) WHERE is_default;

ALTER TABLE dashboards ENABLE ROW LEVEL SECURITY;
ALTER TABLE dashboards FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dashboards
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
