-- Daily rollups beside the hourly ones: a 30-day breakdown merges 30 sketches per value
-- instead of 720. Each row is the sum of its UTC day's hourly rows (visits attributed to the
-- day they started in), built by the rollup job from `rollups_hourly` once the day is complete
-- (visits end at midnight UTC, so a day before the watermark never changes again).
CREATE TABLE rollups_daily (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    day timestamptz NOT NULL,
    kind smallint NOT NULL,
    value text NOT NULL,
    visitors hll NOT NULL,
    visits bigint NOT NULL,
    bounces bigint NOT NULL,
    duration_sum numeric NOT NULL,
    pageviews bigint NOT NULL,
    events bigint NOT NULL,
    PRIMARY KEY (org_id, project_id, kind, day, value),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE rollups_daily IS 'Per project, UTC day (of visit start), dimension kind and value: the union of that day''s rollups_hourly rows. Days before rollup_state.daily_until are complete; see docs/architecture.md.';
COMMENT ON COLUMN rollups_daily.day IS 'Midnight UTC starting the day.';
COMMENT ON COLUMN rollups_daily.kind IS 'As rollups_hourly.kind.';
COMMENT ON COLUMN rollups_hourly.kind IS '0 total, 1 page, 2 entry page, 3 exit page, 4 source, 5 referrer, 6-10 utm source/medium/campaign/content/term, 11 country, 12 region, 13 city, 14 device, 15 browser, 16 os, 17 event name.';

-- Days before `daily_until` (a midnight UTC, never after `rolled_until`) are in rollups_daily.
ALTER TABLE rollup_state ADD COLUMN daily_until timestamptz NOT NULL DEFAULT '-infinity';
COMMENT ON COLUMN rollup_state.daily_until IS 'The UTC days before this midnight are complete in rollups_daily; -infinity before the first daily build.';

ALTER TABLE rollups_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollups_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rollups_daily
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
CREATE POLICY sweep_all ON rollups_daily TO beacon_sweeper USING (true) WITH CHECK (true);

-- As the hourly rollups: the application reads, the sweeper (the rollup job) writes.
REVOKE INSERT, UPDATE, DELETE ON rollups_daily FROM beacon_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON rollups_daily TO beacon_sweeper;

-- Event names become a rolled-up dimension (kind 17, the dashboards' custom events panel):
-- every project's rollups are rebuilt from its raw events by the rollup job, from the first
-- event on, a day per step (queries read raw events until the rebuild covers their range).
-- TRUNCATE, because row-level security would make a DELETE here see no rows.
TRUNCATE rollup_state;
