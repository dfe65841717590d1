DROP TABLE IF EXISTS erased_organizations;
DROP POLICY IF EXISTS sweep_erasures ON organizations;
REVOKE SELECT (org_id, erase_after) ON organizations FROM beacon_sweeper;
REVOKE SELECT (org_id, user_id) ON memberships FROM beacon_sweeper;
ALTER TABLE organizations DROP COLUMN IF EXISTS erasure_requested_by, DROP COLUMN IF EXISTS erase_after;
