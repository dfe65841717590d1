ALTER TABLE rollup_state RENAME COLUMN tail_state_until TO last_seen_until;
COMMENT ON COLUMN rollup_state.last_seen_until IS 'The watermark rollup_last_seen holds the visitors for; rollups are read only while it equals rolled_until.';
DROP TABLE rollups_open_day;
