CREATE TABLE goals (
    org_id uuid NOT NULL,
    goal_id uuid NOT NULL,
    project_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    event_name text CHECK (length(event_name) BETWEEN 1 AND 120),
    page_pattern text CHECK (length(page_pattern) BETWEEN 1 AND 2000),
    page_regex text,
    currency char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, goal_id),
    UNIQUE (org_id, project_id, name),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE,
    CHECK ((event_name IS NULL) <> (page_pattern IS NULL)),
    CHECK ((page_pattern IS NULL) = (page_regex IS NULL))
);
COMMENT ON TABLE goals IS 'Conversions a project counts: a custom event name, or pageviews whose path matches a pattern.';
COMMENT ON COLUMN goals.page_pattern IS 'Path pattern as entered: * matches within one path segment, ** across segments.';
COMMENT ON COLUMN goals.page_regex IS 'The pattern compiled to an anchored POSIX regular expression by the API.';
COMMENT ON COLUMN goals.currency IS 'For revenue goals: the ISO 4217 currency whose revenue is summed.';

ALTER TABLE goals ENABLE ROW LEVEL SECURITY;
ALTER TABLE goals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON goals
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
