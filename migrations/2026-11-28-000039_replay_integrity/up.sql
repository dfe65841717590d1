-- Session replay integrity: a cap on timeline markers per recording, tombstones so a deleted
-- recording is not re-created by the visitor's next chunk, and the blob deletions still owed
-- to an S3-compatible store (retried until they succeed).

-- Markers kept for the recording so far (at most `tenant::replay::chunk::MAX_RECORDING_MARKERS`).
ALTER TABLE replay_sessions ADD COLUMN markers integer NOT NULL DEFAULT 0;

CREATE TABLE replay_tombstones (
    org_id uuid NOT NULL,
    replay_id uuid NOT NULL,
    project_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, replay_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE replay_tombstones IS 'Recordings deleted by a person: chunks still arriving for them are refused (410) instead of re-creating them. Kept two days (a recording lasts at most an hour, its events at most a day old).';

ALTER TABLE replay_tombstones ENABLE ROW LEVEL SECURITY;
ALTER TABLE replay_tombstones FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON replay_tombstones
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

CREATE TABLE blob_deletions (
    org_id uuid NOT NULL,
    blob_key text NOT NULL,
    project_id uuid NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error text CHECK (length(last_error) <= 1000),
    PRIMARY KEY (org_id, blob_key),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE blob_deletions IS 'Objects of an S3-compatible blob store whose rows are gone: written in the transaction that deletes the rows, removed once the object is deleted; the hourly replay job retries the rest. An erased project''s or organization''s objects are deleted by prefix instead.';

ALTER TABLE blob_deletions ENABLE ROW LEVEL SECURITY;
ALTER TABLE blob_deletions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON blob_deletions
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

-- The hourly replay job finds the organizations owing deletions or holding old tombstones as
-- beacon_sweeper, which may read only that much.
GRANT SELECT (org_id, next_attempt_at) ON blob_deletions TO beacon_sweeper;
CREATE POLICY sweep_retention ON blob_deletions FOR SELECT TO beacon_sweeper USING (true);
GRANT SELECT (org_id, deleted_at) ON replay_tombstones TO beacon_sweeper;
CREATE POLICY sweep_retention ON replay_tombstones FOR SELECT TO beacon_sweeper USING (true);
