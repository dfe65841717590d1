-- One definition of "this event completes this goal", used by conversions, the Stats API's
-- event:goal and funnels. Plain SQL and IMMUTABLE, so the planner inlines it.
CREATE FUNCTION beacon_goal_matches(goal_event text, goal_regex text, event_name text, event_path text)
    RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (goal_event IS NOT NULL AND event_name = goal_event)
        OR (goal_regex IS NOT NULL AND event_name = 'pageview' AND event_path ~ goal_regex)
$$;

CREATE TABLE funnels (
    org_id uuid NOT NULL,
    funnel_id uuid NOT NULL,
    project_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, funnel_id),
    UNIQUE (org_id, project_id, name),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE funnels IS 'Ordered goals a visitor is expected to complete one after another.';

CREATE TABLE funnel_steps (
    org_id uuid NOT NULL,
    funnel_id uuid NOT NULL,
    position smallint NOT NULL CHECK (position BETWEEN 1 AND 8),
    goal_id uuid NOT NULL,
    PRIMARY KEY (org_id, funnel_id, position),
    FOREIGN KEY (org_id, funnel_id) REFERENCES funnels (org_id, funnel_id) ON DELETE CASCADE,
    -- A goal in use by a funnel cannot be deleted (the API answers 409 naming the funnel).
    FOREIGN KEY (org_id, goal_id) REFERENCES goals (org_id, goal_id) ON DELETE RESTRICT
);
COMMENT ON TABLE funnel_steps IS 'The goals of a funnel, in order (2 to 8).';
CREATE INDEX funnel_steps_goal_idx ON funnel_steps (org_id, goal_id);

ALTER TABLE funnels ENABLE ROW LEVEL SECURITY;
ALTER TABLE funnels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON funnels
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
ALTER TABLE funnel_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE funnel_steps FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON funnel_steps
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
