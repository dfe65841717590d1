//! Finding the database: `DATABASE_URL`, or Beacon's own cluster under the data directory.
//! Either way the schema is migrated as the owner before anything else uses it.

use anyhow::Context;
use tenant::diesel_async::{
    AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
};
use tenant::embedded::Cluster;

use crate::config::DatabaseArgs;

/// Database name inside the embedded cluster.
const EMBEDDED_DATABASE: &str = "beacon";

/// An opened database.
pub struct Database {
    /// URL of the schema owner (migrations, job queue).
    pub owner_url: String,
    /// The embedded cluster, when Beacon runs its own; stopping it is up to the holder.
    pub cluster: Option<Cluster>,
}

impl Database {
    /// Stops the embedded cluster if this process started it.
    pub fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(mut cluster) = self.cluster.take() {
            cluster.stop()?;
        }
        Ok(())
    }
}

/// Opens the configured database and applies pending migrations.
pub async fn open_and_migrate(args: &DatabaseArgs) -> anyhow::Result<Database> {
    let database = open(args).await?;
    migrate(&database.owner_url).await?;
    Ok(database)
}

/// Opens the configured database without migrating.
pub async fn open(args: &DatabaseArgs) -> anyhow::Result<Database> {
    if let Some(url) = &args.database_url {
        return Ok(Database {
            owner_url: url.clone(),
            cluster: None,
        });
    }
    let dir = args.data_dir.clone();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&dir, true))
        .await
        .context("starting PostgreSQL")??;
    if cluster.started_here() {
        tracing::info!("started the embedded PostgreSQL");
    }
    create_database_if_missing(&cluster).await?;
    Ok(Database {
        owner_url: cluster.url(EMBEDDED_DATABASE),
        cluster: Some(cluster),
    })
}

#[derive(tenant::diesel::QueryableByName)]
struct Found {
    #[diesel(sql_type = tenant::diesel::sql_types::BigInt)]
    n: i64,
}

async fn create_database_if_missing(cluster: &Cluster) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(&cluster.url("postgres"))
        .await
        .context("connecting to the embedded PostgreSQL")?;
    let found: Found = tenant::diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_database WHERE datname = '{EMBEDDED_DATABASE}'"
    ))
    .get_result(&mut conn)
    .await?;
    if found.n == 0 {
        conn.batch_execute(&format!("CREATE DATABASE {EMBEDDED_DATABASE}"))
            .await
            .context("creating the beacon database")?;
    }
    Ok(())
}

/// Applies Beacon's migrations and installs the job queue, as the owner.
pub async fn migrate(owner_url: &str) -> anyhow::Result<()> {
    let applied = tenant::migrate::run(owner_url).await?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied migrations");
    }
    worker::queue::setup(owner_url).await
}
