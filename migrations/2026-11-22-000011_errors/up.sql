-- JS errors from Sentry-compatible SDKs: issues (events grouped by fingerprint), their
-- events (scrubbed before they are stored), and release files (minified code and source maps)
-- that stack frames are symbolicated with.

ALTER TABLE projects
    ADD COLUMN scrub_fields text[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(scrub_fields) <= 50),
    ADD COLUMN error_events_per_minute integer NOT NULL DEFAULT 600
        CHECK (error_events_per_minute BETWEEN 1 AND 10000000),
    ADD COLUMN error_user_key bytea NOT NULL
        DEFAULT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');
COMMENT ON COLUMN projects.scrub_fields IS 'Extra key names whose values are removed from error events before storage (on top of the built-in rules).';
COMMENT ON COLUMN projects.error_events_per_minute IS 'Error events accepted per minute; beyond it SDKs get 429 with X-Sentry-Rate-Limits.';
COMMENT ON COLUMN projects.error_user_key IS 'Random key of the hash that counts affected users without storing who they are.';

CREATE TABLE error_issues (
    org_id uuid NOT NULL,
    issue_id uuid NOT NULL,
    project_id uuid NOT NULL,
    fingerprint text NOT NULL CHECK (length(fingerprint) = 64),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    culprit text,
    level text NOT NULL,
    status text NOT NULL DEFAULT 'unresolved' CHECK (status IN ('unresolved', 'resolved', 'ignored')),
    resolved_in_release text,
    resolved_at timestamptz,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    times_seen bigint NOT NULL DEFAULT 0,
    first_release text,
    last_release text,
    PRIMARY KEY (org_id, issue_id),
    UNIQUE (org_id, project_id, fingerprint),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE error_issues IS 'Error events grouped by fingerprint, with state (unresolved, resolved, ignored) and counts.';
COMMENT ON COLUMN error_issues.resolved_in_release IS 'Resolved "in the next release": events from this release (or without one) do not reopen the issue.';
CREATE INDEX error_issues_by_project ON error_issues (org_id, project_id, last_seen DESC);

CREATE TABLE error_events (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    event_id uuid NOT NULL,
    issue_id uuid NOT NULL,
    ts timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    level text NOT NULL,
    platform text,
    release text,
    environment text,
    user_hash text,
    data jsonb NOT NULL,
    PRIMARY KEY (org_id, project_id, event_id),
    FOREIGN KEY (org_id, issue_id) REFERENCES error_issues (org_id, issue_id) ON DELETE CASCADE
);
COMMENT ON TABLE error_events IS 'Scrubbed, symbolicated error events. The key makes an SDK retry of the same event a no-op.';
COMMENT ON COLUMN error_events.user_hash IS 'Keyed hash of the SDK user (id, e-mail or username) for counting affected users; never the user itself.';
CREATE INDEX error_events_by_issue ON error_events (org_id, issue_id, ts DESC);

CREATE TABLE release_files (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    release text NOT NULL CHECK (length(release) BETWEEN 1 AND 200),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
    body bytea NOT NULL,
    sha256 text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, project_id, release, name),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE release_files IS 'Minified files and source maps of a release, named like ~/static/app.min.js.';

ALTER TABLE error_issues ENABLE ROW LEVEL SECURITY;
ALTER TABLE error_issues FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON error_issues
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
ALTER TABLE error_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE error_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON error_events
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
-- Retention (the maintenance job, as beacon_sweeper) deletes error events and issues past each
-- project's retention_days.
GRANT SELECT, DELETE ON error_events, error_issues TO beacon_sweeper;
CREATE POLICY sweep_all ON error_events TO beacon_sweeper USING (true);
CREATE POLICY sweep_all ON error_issues TO beacon_sweeper USING (true);

ALTER TABLE release_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE release_files FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON release_files
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
