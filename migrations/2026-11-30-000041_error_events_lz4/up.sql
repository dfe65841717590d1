-- Error events are a few kilobytes of JSON each, above the 2 kB at which PostgreSQL compresses a
-- value: with the default pglz, compressing them took a visible share of the database's CPU
-- under load (docs/benchmarks.md, error envelopes). lz4 compresses several times faster. It
-- applies to rows written from now on; older rows stay as they are, and both read the same. A
-- server built without lz4 keeps pglz (the only outcome is speed).
DO $$
BEGIN
    ALTER TABLE error_events ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: error events stay compressed with pglz';
END
$$;
