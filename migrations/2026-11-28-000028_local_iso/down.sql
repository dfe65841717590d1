DROP FUNCTION beacon_local_iso(timestamptz, text);
