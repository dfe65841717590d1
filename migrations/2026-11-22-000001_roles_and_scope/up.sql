-- The application role: owns nothing, cannot bypass row-level security.
-- Roles are cluster-wide, so creation is idempotent (many databases may share a cluster).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'beacon_app') THEN
        CREATE ROLE beacon_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;

-- The migrating (owner) role switches to beacon_app with SET ROLE on every pooled connection.
GRANT beacon_app TO CURRENT_USER;

GRANT USAGE ON SCHEMA public TO beacon_app;
GRANT SELECT ON __diesel_schema_migrations TO beacon_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO beacon_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO beacon_app;

-- The organization a transaction is scoped to, set by `SET LOCAL app.org_id` in the tenant
-- scope. NULL when unset, so policies compare against NULL and match no row.
CREATE FUNCTION beacon_current_org() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.org_id', true), '')::uuid $$;
COMMENT ON FUNCTION beacon_current_org() IS 'Organization of the current tenant scope (transaction-local app.org_id), or NULL.';

-- The signed-in user of a user scope (`SET LOCAL app.user_id`): lets a user see their own
-- memberships across organizations, and nothing else.
CREATE FUNCTION beacon_current_user() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;
COMMENT ON FUNCTION beacon_current_user() IS 'User of the current user scope (transaction-local app.user_id), or NULL.';
