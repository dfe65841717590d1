-- An instant as ISO 8601 in a time zone, with that zone's UTC offset at that instant
-- (`2026-10-25T02:30:00+01:00`): how exports write times in a project's time zone.
CREATE FUNCTION beacon_local_iso(at timestamptz, tz text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN local < utc THEN '-' ELSE '+' END
           || to_char(CASE WHEN local < utc THEN utc - local ELSE local - utc END, 'HH24:MI')
    FROM (SELECT at AT TIME ZONE tz AS local, at AT TIME ZONE 'UTC' AS utc) AS t
$$;
