DROP INDEX IF EXISTS error_events_by_visitor;
ALTER TABLE error_events DROP COLUMN visitor_id;
DROP TABLE replay_blobs;
DROP TABLE replay_chunks;
DROP TABLE replay_sessions;
ALTER TABLE projects
    DROP COLUMN replay_enabled,
    DROP COLUMN replay_sample_rate,
    DROP COLUMN replay_mask_all_text,
    DROP COLUMN replay_unmask_selector,
    DROP COLUMN replay_block_selector,
    DROP COLUMN replay_retention_days;
