-- Ingestion writes events of many tenants in one statement, so it cannot use the tenant scope.
-- It runs as beacon_ingest, which may read project settings and salts and INSERT events, and
-- nothing else; the events policy checks that each row's project belongs to its organization.
-- Jobs that sweep every tenant (salt rotation, retention) run as beacon_sweeper.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'beacon_ingest') THEN
        CREATE ROLE beacon_ingest NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'beacon_sweeper') THEN
        CREATE ROLE beacon_sweeper NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;
GRANT beacon_ingest TO CURRENT_USER;
GRANT beacon_sweeper TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO beacon_ingest, beacon_sweeper;
GRANT SELECT ON __diesel_schema_migrations TO beacon_ingest, beacon_sweeper;

ALTER TABLE projects
    ADD COLUMN salt_rotation_hours integer NOT NULL DEFAULT 24
        CHECK (salt_rotation_hours BETWEEN 1 AND 720),
    ADD COLUMN retention_days integer NOT NULL DEFAULT 1095
        CHECK (retention_days BETWEEN 1 AND 3650);
COMMENT ON COLUMN projects.salt_rotation_hours IS 'How long one visitor-id salt is used before a new random one replaces it.';
COMMENT ON COLUMN projects.retention_days IS 'Events older than this are deleted.';

GRANT SELECT ON projects, project_domains TO beacon_ingest, beacon_sweeper;
CREATE POLICY ingest_read ON projects FOR SELECT TO beacon_ingest, beacon_sweeper USING (true);
CREATE POLICY ingest_read ON project_domains FOR SELECT TO beacon_ingest, beacon_sweeper USING (true);

CREATE TABLE project_salts (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    salt bytea NOT NULL CHECK (length(salt) = 16),
    PRIMARY KEY (org_id, project_id, created_at),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE project_salts IS 'Random keys of the visitor-id hash. The newest is used for new events; each is deleted 48 hours after it is replaced, so yesterday''s visitors cannot be linked to today''s.';
ALTER TABLE project_salts ENABLE ROW LEVEL SECURITY;
ALTER TABLE project_salts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON project_salts
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
CREATE POLICY ingest_read ON project_salts FOR SELECT TO beacon_ingest USING (true);
CREATE POLICY sweep_all ON project_salts TO beacon_sweeper USING (true) WITH CHECK (true);
-- Projects that existed before this migration get their first salt (gen_random_uuid is
-- PostgreSQL's own CSPRNG: 122 random bits). The owner is under forced RLS, so it lifts the
-- force for this one statement.
ALTER TABLE project_salts NO FORCE ROW LEVEL SECURITY;
INSERT INTO project_salts (org_id, project_id, salt)
    SELECT org_id, project_id, decode(replace(gen_random_uuid()::text, '-', ''), 'hex') FROM projects;
ALTER TABLE project_salts FORCE ROW LEVEL SECURITY;

-- The API only ever adds a project's first salt (when it creates the project); it never reads them.
REVOKE ALL ON project_salts FROM beacon_app;
GRANT INSERT ON project_salts TO beacon_app;
GRANT SELECT ON project_salts TO beacon_ingest;
GRANT SELECT, INSERT, DELETE ON project_salts TO beacon_sweeper;

CREATE TABLE events (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    ts timestamptz NOT NULL,
    event_id uuid NOT NULL,
    name text NOT NULL,
    visitor_id bigint NOT NULL,
    hostname text NOT NULL,
    pathname text NOT NULL,
    referrer_host text,
    source text,
    utm_source text,
    utm_medium text,
    utm_campaign text,
    utm_content text,
    utm_term text,
    browser text,
    browser_version text,
    os text,
    os_version text,
    device text,
    country char(2),
    region text,
    city text,
    props jsonb NOT NULL DEFAULT '{}',
    revenue_amount numeric(18, 4),
    revenue_currency char(3),
    interactive boolean NOT NULL DEFAULT true,
    PRIMARY KEY (org_id, project_id, ts, event_id)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE events IS 'Pageviews and custom events, partitioned by day. No IP address and no user agent string is stored: see docs/privacy.md.';
COMMENT ON COLUMN events.visitor_id IS 'SipHash-1-3 of (project, IP, user agent) keyed with the project''s current salt; unlinkable once the salt is deleted.';
COMMENT ON COLUMN events.country IS 'ISO 3166-1 alpha-2, from the configured MaxMind-format database; the IP itself is not stored.';
COMMENT ON COLUMN events.region IS 'ISO 3166-2 subdivision (e.g. DE-BE), when the database has it.';
COMMENT ON COLUMN events.city IS 'City name in English, when the database has it.';
COMMENT ON COLUMN events.referrer_host IS 'Host of the referring page, without path or query.';
COMMENT ON COLUMN events.source IS 'Traffic source: utm_source/ref/source if given, else the referrer''s name from the referrer list (e.g. Google), else its host; NULL for direct visits.';
CREATE INDEX events_project_ts_idx ON events (project_id, ts);

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
CREATE POLICY ingest_insert ON events FOR INSERT TO beacon_ingest
    WITH CHECK (EXISTS (SELECT 1 FROM projects p
                        WHERE p.org_id = events.org_id AND p.project_id = events.project_id));
CREATE POLICY sweep_delete ON events FOR DELETE TO beacon_sweeper USING (true);
CREATE POLICY sweep_read ON events FOR SELECT TO beacon_sweeper USING (true);
REVOKE INSERT, UPDATE, DELETE ON events FROM beacon_app;
GRANT INSERT ON events TO beacon_ingest;
GRANT SELECT, DELETE ON events TO beacon_sweeper;

-- Partitions. A default partition catches anything outside the daily ones, so a missing
-- partition never loses an event. Partitions are reached only through `events` (whose
-- policies apply); direct access is closed by RLS without policies and by revoking grants.
CREATE TABLE events_default PARTITION OF events DEFAULT;

CREATE FUNCTION beacon_close_partition(partition regclass) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', partition);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', partition);
    EXECUTE format('REVOKE ALL ON %s FROM beacon_app, beacon_ingest, beacon_sweeper', partition);
END
$$;
SELECT beacon_close_partition('events_default');

-- Creates the daily partitions from `first` for `days` days. SECURITY DEFINER: the sweeper
-- may add partitions without owning the table.
CREATE FUNCTION beacon_ensure_event_partitions(first date, days integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    day date;
    created integer := 0;
    name text;
BEGIN
    FOR i IN 0 .. days - 1 LOOP
        day := first + i;
        name := 'events_' || to_char(day, 'YYYYMMDD');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                name, day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
            PERFORM beacon_close_partition(name::regclass);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
REVOKE ALL ON FUNCTION beacon_ensure_event_partitions(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon_ensure_event_partitions(date, integer) TO beacon_sweeper;
SELECT beacon_ensure_event_partitions((now() AT TIME ZONE 'UTC')::date - 1, 9);
