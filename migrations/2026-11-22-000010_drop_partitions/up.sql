-- Drops the daily event partitions that end before `before` (every project's retention has
-- passed them; the maintenance job computes the day from the longest retention, and drops
-- before it deletes rows, so whole days go without row-by-row work for DELETE and VACUUM).
-- Dropping a partition locks `events` briefly; the function waits at most two seconds for the
-- lock and otherwise leaves the partition for the next run, so ingestion never queues behind
-- it. SECURITY DEFINER: the sweeper may drop partitions without owning the table.
CREATE FUNCTION beacon_drop_event_partitions(before date) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '2s' AS $$
DECLARE
    partition record;
    dropped integer := 0;
BEGIN
    FOR partition IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class parent ON parent.oid = i.inhparent
        WHERE parent.relname = 'events' AND c.relname ~ '^events_[0-9]{8}$'
          AND to_date(substring(c.relname FROM 8), 'YYYYMMDD') + 1 <= before
    LOOP
        BEGIN
            EXECUTE format('DROP TABLE %I', partition.relname);
            dropped := dropped + 1;
        EXCEPTION WHEN lock_not_available THEN
            RAISE NOTICE 'partition % is busy; it will be dropped on a later run', partition.relname;
        END;
    END LOOP;
    RETURN dropped;
END
$$;
REVOKE ALL ON FUNCTION beacon_drop_event_partitions(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon_drop_event_partitions(date) TO beacon_sweeper;
