-- Drops the daily event partitions that end before `before` (every project's retention has
-- passed them; the maintenance job computes the day from the longest retention). Dropping a
-- partition frees its space at once, where deleting rows leaves work for VACUUM.
-- SECURITY DEFINER: the sweeper may drop partitions without owning the table.
CREATE FUNCTION beacon_drop_event_partitions(before date) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
        EXECUTE format('DROP TABLE %I', partition.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;
REVOKE ALL ON FUNCTION beacon_drop_event_partitions(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon_drop_event_partitions(date) TO beacon_sweeper;
