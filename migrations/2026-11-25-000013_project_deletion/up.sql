-- Deleting a project or an organization deletes its events. Every other tenant table reaches
-- its project through a foreign key with ON DELETE CASCADE; events have none on purpose: the
-- check would run for every ingested row (a 2,000-row batch insert took about 1.5 times as
-- long with it: scripts/bench-events-fk, docs/benchmarks.md). So the application deletes them
-- itself, in the transaction that deletes the project (tenant::tables::projects::delete), and
-- may delete nothing else: the restrictive policy lets it delete only events whose project no
-- longer exists, on top of tenant_isolation's own organization.
GRANT DELETE ON events TO beacon_app;
CREATE POLICY app_delete_orphans ON events AS RESTRICTIVE FOR DELETE TO beacon_app
    USING (NOT EXISTS (SELECT 1 FROM projects p
                       WHERE p.org_id = events.org_id AND p.project_id = events.project_id));
