DROP TABLE rollup_state;
DROP TABLE rollups_hourly;
DROP EXTENSION IF EXISTS hll;
