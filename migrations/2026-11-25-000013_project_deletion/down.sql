DROP POLICY app_delete_orphans ON events;
REVOKE DELETE ON events FROM beacon_app;
