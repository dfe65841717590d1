-- Hourly rollups for the dashboards: one row per (project, hour, dimension kind, value) with
-- the counts the Stats API needs and a HyperLogLog sketch of the visitor ids, so unique
-- visitors of any set of hours is the cardinality of the union of their sketches.
--
-- HyperLogLog comes from the `hll` extension (Citus's postgresql-hll; Debian/Ubuntu package
-- postgresql-<major>-hll; available on Amazon RDS, Azure and Google Cloud SQL). Creating it
-- needs a superuser (or rds_superuser); see docs/architecture.md for why not a Rust sketch.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hll') THEN
        RAISE EXCEPTION 'the PostgreSQL extension "hll" is not installed on the database server'
            USING HINT = 'On Debian/Ubuntu: apt-get install postgresql-'
                || current_setting('server_version_num')::int / 10000 || '-hll';
    END IF;
END
$$;
CREATE EXTENSION IF NOT EXISTS hll;

-- Visits are attributed to the hour they started in, with all their events (as the Stats API
-- counts them); `kind` says which dimension `value` is ('' for none).
CREATE TABLE rollups_hourly (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    hour timestamptz NOT NULL,
    kind smallint NOT NULL,
    value text NOT NULL,
    visitors hll NOT NULL,
    visits integer NOT NULL,
    bounces integer NOT NULL,
    duration_sum numeric NOT NULL,
    pageviews integer NOT NULL,
    events integer NOT NULL,
    PRIMARY KEY (org_id, project_id, kind, hour, value),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE rollups_hourly IS 'Per project, hour (of visit start), dimension kind and value: visits, bounces, summed duration, pageviews, events, and an HLL sketch of visitor ids. Rebuilt by the rollup job; see docs/architecture.md.';
COMMENT ON COLUMN rollups_hourly.kind IS '0 total, 1 page, 2 entry page, 3 exit page, 4 source, 5 referrer, 6-10 utm source/medium/campaign/content/term, 11 country, 12 region, 13 city, 14 device, 15 browser, 16 os.';
COMMENT ON COLUMN rollups_hourly.value IS 'The dimension value; empty for none (no dimension value is ever the empty string).';

-- How far each project's rollups reach: every visit that started before `rolled_until` is in
-- them, and ended (30 minutes without an event) before they were built.
CREATE TABLE rollup_state (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    rolled_until timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, project_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE rollup_state IS 'The rollup watermark per project: hours before rolled_until come from rollups_hourly, later ones from raw events.';

ALTER TABLE rollups_hourly ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollups_hourly FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rollups_hourly
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
CREATE POLICY sweep_all ON rollups_hourly TO beacon_sweeper USING (true) WITH CHECK (true);
ALTER TABLE rollup_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollup_state FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rollup_state
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
CREATE POLICY sweep_all ON rollup_state TO beacon_sweeper USING (true) WITH CHECK (true);

-- The application only reads them; the sweeper (the rollup job) writes them.
REVOKE INSERT, UPDATE, DELETE ON rollups_hourly, rollup_state FROM beacon_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON rollups_hourly, rollup_state TO beacon_sweeper;
