DROP FUNCTION IF EXISTS beacon_audit_prune(bigint, bytea);
DROP TABLE IF EXISTS audit_streams;
DROP TABLE IF EXISTS audit_checkpoints;
DROP TABLE IF EXISTS audit_heads;
DROP TABLE IF EXISTS audit_log;
