-- Kind 18 rows stay in the rollup tables; the older code never reads that kind.
COMMENT ON COLUMN rollups_hourly.kind IS '0 total, 1 page, 2 entry page, 3 exit page, 4 source, 5 referrer, 6-10 utm source/medium/campaign/content/term, 11 country, 12 region, 13 city, 14 device, 15 browser, 16 os, 17 event name.';
