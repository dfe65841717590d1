-- Erasing a project, like an organization: an owner asks (the project's name typed), and seven
-- days later, unless an owner cancels, the erasure job deletes it and all its data. The sweeper
-- already reads projects (routing and maintenance), so it finds the due ones.
ALTER TABLE projects
    ADD COLUMN erase_after timestamptz,
    ADD COLUMN erasure_requested_by uuid;
COMMENT ON COLUMN projects.erase_after IS 'Erasure requested: the erasure job deletes the project and its data after this time unless an owner cancels.';
