ALTER TABLE projects DROP COLUMN IF EXISTS erasure_requested_by, DROP COLUMN IF EXISTS erase_after;
