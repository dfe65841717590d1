-- The watermark's UTC day so far, merged: a range ending today read up to 24 hourly rows per
-- dimension value for today (merging a sketch costs about 10 µs whatever it holds, so those
-- hours were most of a month's breakdown). The rollup job rewrites these rows with the
-- watermark, in the same transaction, as it does rollup_last_seen; one column now says for
-- which watermark both are.
CREATE TABLE rollups_open_day (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    kind smallint NOT NULL,
    value text NOT NULL,
    visitors hll NOT NULL,
    visits bigint NOT NULL,
    bounces bigint NOT NULL,
    duration_sum numeric NOT NULL,
    pageviews bigint NOT NULL,
    events bigint NOT NULL,
    PRIMARY KEY (org_id, project_id, kind, value),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE rollups_open_day IS 'Per project, dimension kind and value: the union of the rollups_hourly rows from midnight UTC of rollup_state.tail_state_until (the watermark) up to it. Rewritten by the rollup job with the watermark; see docs/architecture.md.';
COMMENT ON COLUMN rollups_open_day.kind IS 'As rollups_hourly.kind.';

ALTER TABLE rollup_state RENAME COLUMN last_seen_until TO tail_state_until;
COMMENT ON COLUMN rollup_state.tail_state_until IS 'The watermark rollup_last_seen and rollups_open_day are for; rollups are read only while it equals rolled_until.';

ALTER TABLE rollups_open_day ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollups_open_day FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rollups_open_day
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
CREATE POLICY sweep_all ON rollups_open_day TO beacon_sweeper USING (true) WITH CHECK (true);

-- As the other layers: the application reads, the sweeper (the rollup job) writes.
REVOKE INSERT, UPDATE, DELETE ON rollups_open_day FROM beacon_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON rollups_open_day TO beacon_sweeper;
