//! Embedded schema migrations, applied as the owning role.
//!
//! The migrations create the `beacon_app` role and the row-level security policies; the
//! application itself never runs them with its own role.

use anyhow::Context;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The SQL migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// Applies pending migrations through the owner connection `url`; returns the versions applied.
pub async fn run(url: &str) -> anyhow::Result<Vec<String>> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .context("connecting to PostgreSQL to migrate")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("applying migrations: {e}"))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
    .context("migration task")?
}

/// Whether every embedded migration is applied in the database `conn` reaches (readiness).
pub async fn is_current(conn: &mut AsyncPgConnection) -> anyhow::Result<bool> {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let applied: Vec<Version> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations"),
        conn,
    )
    .await?;
    Ok(embedded_versions()?
        .iter()
        .all(|wanted| applied.iter().any(|row| &row.version == wanted)))
}

/// Versions of every embedded migration, oldest first (for readiness checks).
pub fn embedded_versions() -> anyhow::Result<Vec<String>> {
    let migrations = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("reading embedded migrations: {e}"))?;
    Ok(migrations
        .iter()
        .map(|migration| migration.name().version().to_string())
        .collect())
}
