-- Kind 18: the pages of pageviews alone, what a page goal counts (kind 1 holds the page of every
-- event, so its visitor sketches also hold visitors whose only event on a page was a custom
-- event). Breakdowns by goal read it. Every project's rollups are rebuilt from its raw events
-- by the rollup job, from the first event on, a day per step (queries read raw events until the
-- rebuild covers their range). TRUNCATE, because row-level security would make a DELETE here
-- see no rows.
COMMENT ON COLUMN rollups_hourly.kind IS '0 total, 1 page, 2 entry page, 3 exit page, 4 source, 5 referrer, 6-10 utm source/medium/campaign/content/term, 11 country, 12 region, 13 city, 14 device, 15 browser, 16 os, 17 event name, 18 page of pageviews only ('''' for the other events).';
TRUNCATE rollup_state;
