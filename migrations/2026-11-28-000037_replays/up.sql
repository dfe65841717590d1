-- Session replay: recordings made in visitors' browsers by rrweb (`/js/replay.js`), stored as
-- compressed chunks. A session's metadata and each chunk's summary live here under the usual
-- tenancy rules; a chunk's body lives in the blob store: `replay_blobs` by default, or an
-- S3-compatible bucket (`BEACON_BLOB_URL`), where the key is the same.

-- A project's replay settings. Off until an admin turns them on; text masked unless unmasked
-- by selector.
ALTER TABLE projects
    ADD COLUMN replay_enabled boolean NOT NULL DEFAULT false,
    ADD COLUMN replay_sample_rate real NOT NULL DEFAULT 1.0
        CHECK (replay_sample_rate >= 0 AND replay_sample_rate <= 1),
    ADD COLUMN replay_mask_all_text boolean NOT NULL DEFAULT true,
    ADD COLUMN replay_unmask_selector text CHECK (length(replay_unmask_selector) <= 500),
    ADD COLUMN replay_block_selector text CHECK (length(replay_block_selector) <= 500),
    ADD COLUMN replay_retention_days integer NOT NULL DEFAULT 30
        CHECK (replay_retention_days BETWEEN 1 AND 365);

CREATE TABLE replay_sessions (
    org_id uuid NOT NULL,
    replay_id uuid NOT NULL,
    project_id uuid NOT NULL,
    visitor_id bigint NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    entry_page text NOT NULL CHECK (length(entry_page) <= 2000),
    pages text[] NOT NULL DEFAULT '{}' CHECK (cardinality(pages) <= 50),
    country text,
    device text NOT NULL,
    browser text NOT NULL,
    os text NOT NULL,
    chunks integer NOT NULL DEFAULT 0,
    bytes bigint NOT NULL DEFAULT 0,
    clicks integer NOT NULL DEFAULT 0,
    rage_clicks integer NOT NULL DEFAULT 0,
    dead_clicks integer NOT NULL DEFAULT 0,
    has_snapshot boolean NOT NULL DEFAULT false,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, replay_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE replay_sessions IS 'Recorded sessions: the id the browser made, the salted visitor id (never an IP), what was seen and how much is stored.';
CREATE INDEX replay_sessions_by_start ON replay_sessions (org_id, project_id, started_at DESC, replay_id);
CREATE INDEX replay_sessions_by_visitor ON replay_sessions (org_id, project_id, visitor_id, started_at);

ALTER TABLE replay_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE replay_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON replay_sessions
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

CREATE TABLE replay_chunks (
    org_id uuid NOT NULL,
    replay_id uuid NOT NULL,
    seq integer NOT NULL CHECK (seq >= 0),
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    events integer NOT NULL,
    bytes integer NOT NULL,
    markers jsonb NOT NULL DEFAULT '[]',
    blob_key text NOT NULL,
    PRIMARY KEY (org_id, replay_id, seq),
    FOREIGN KEY (org_id, replay_id) REFERENCES replay_sessions (org_id, replay_id) ON DELETE CASCADE
);
COMMENT ON TABLE replay_chunks IS 'One uploaded chunk of a recording: its time span, its timeline markers (pages, clicks, custom events) and where its gzip body is stored.';

ALTER TABLE replay_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE replay_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON replay_chunks
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

-- The PostgreSQL blob store (the default, and the embedded binary's): bodies by key, going with
-- their project. Deleting a session deletes its chunks' blobs in the same transaction.
CREATE TABLE replay_blobs (
    org_id uuid NOT NULL,
    blob_key text NOT NULL,
    project_id uuid NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (org_id, blob_key),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE replay_blobs IS 'Chunk bodies (gzip-compressed rrweb events) when the blob store is PostgreSQL.';

ALTER TABLE replay_blobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE replay_blobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON replay_blobs
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

-- Errors are linked to the recordings they happened in by the salted visitor id, computed at
-- ingestion from the same IP and user agent as the replay's (and like it, never the IP).
ALTER TABLE error_events ADD COLUMN visitor_id bigint;
CREATE INDEX error_events_by_visitor ON error_events (org_id, project_id, visitor_id, ts)
    WHERE visitor_id IS NOT NULL;

-- Replay retention sweeps every tenant as beacon_sweeper: it may read which organizations
-- have sessions older than their project's retention, nothing more.
GRANT SELECT (org_id, project_id, started_at) ON replay_sessions TO beacon_sweeper;
CREATE POLICY sweep_retention ON replay_sessions FOR SELECT TO beacon_sweeper USING (true);
