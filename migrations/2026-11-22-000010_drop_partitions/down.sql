DROP FUNCTION beacon_drop_event_partitions(date);
