DROP TABLE blob_deletions;
DROP TABLE replay_tombstones;
ALTER TABLE replay_sessions DROP COLUMN markers;
