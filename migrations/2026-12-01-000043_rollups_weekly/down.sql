ALTER TABLE rollup_state DROP COLUMN weekly_until;
DROP TABLE rollups_weekly;
