ALTER TABLE error_issues DROP COLUMN regressed_at;
REVOKE SELECT (alert_id, report_id) ON schedules FROM beacon_sweeper;
DELETE FROM schedules WHERE report_id IS NOT NULL;
ALTER TABLE schedules DROP CONSTRAINT schedules_one_subject;
ALTER TABLE schedules DROP COLUMN report_id;
ALTER TABLE schedules ALTER COLUMN alert_id SET NOT NULL;
DROP TABLE report_subscriptions;
DROP TABLE reports;
