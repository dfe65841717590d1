ALTER TABLE rollup_state DROP COLUMN last_seen_until;
DROP TABLE rollup_last_seen;
