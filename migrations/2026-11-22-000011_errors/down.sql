DROP TABLE release_files;
DROP TABLE error_events;
DROP TABLE error_issues;
ALTER TABLE projects DROP COLUMN scrub_fields, DROP COLUMN error_events_per_minute, DROP COLUMN error_user_key;
