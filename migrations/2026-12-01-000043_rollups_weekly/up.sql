-- Weekly rollups beside the daily ones: merging a sketch costs about 10 µs whatever it holds,
-- so a 30-day breakdown that merges 30 daily rows per value spends most of its time there.
-- Each row is the union of its UTC week's daily rows (Monday to Monday), built by the rollup
-- job once the week is complete in the daily layer; a 30-day range then reads about four
-- weeks and the days at either end.
CREATE TABLE rollups_weekly (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    week timestamptz NOT NULL,
    kind smallint NOT NULL,
    value text NOT NULL,
    visitors hll NOT NULL,
    visits bigint NOT NULL,
    bounces bigint NOT NULL,
    duration_sum numeric NOT NULL,
    pageviews bigint NOT NULL,
    events bigint NOT NULL,
    PRIMARY KEY (org_id, project_id, kind, week, value),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE rollups_weekly IS 'Per project, UTC week (of visit start), dimension kind and value: the union of that week''s rollups_daily rows. Weeks before rollup_state.weekly_until are complete; see docs/architecture.md.';
COMMENT ON COLUMN rollups_weekly.week IS 'Midnight UTC starting the week (a Monday).';
COMMENT ON COLUMN rollups_weekly.kind IS 'As rollups_hourly.kind.';

-- Weeks before `weekly_until` (a Monday midnight UTC, never after `daily_until`) are in
-- rollups_weekly. The first rollup step after this migration builds them from the daily rows.
ALTER TABLE rollup_state ADD COLUMN weekly_until timestamptz NOT NULL DEFAULT '-infinity';
COMMENT ON COLUMN rollup_state.weekly_until IS 'The UTC weeks before this Monday midnight are complete in rollups_weekly; -infinity before the first weekly build.';

ALTER TABLE rollups_weekly ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollups_weekly FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rollups_weekly
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
CREATE POLICY sweep_all ON rollups_weekly TO beacon_sweeper USING (true) WITH CHECK (true);

-- As the other layers: the application reads, the sweeper (the rollup job) writes.
REVOKE INSERT, UPDATE, DELETE ON rollups_weekly FROM beacon_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON rollups_weekly TO beacon_sweeper;
