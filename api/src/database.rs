//! Finding the database: `DATABASE_URL`, or Beacon's own cluster under the data directory.
//! Either way the schema is migrated as the owner before anything else uses it.

use std::sync::Arc;

use anyhow::Context;
use tenant::embedded::{Cluster, ClusterHealth, Origin, Supervisor};

use crate::config::DatabaseArgs;

/// Database name inside the embedded cluster.
const EMBEDDED_DATABASE: &str = "beacon";

/// An opened database.
pub struct Database {
    /// URL of the schema owner (migrations, job queue).
    pub owner_url: String,
    /// The embedded cluster, when Beacon runs its own.
    cluster: Option<Arc<Cluster>>,
    supervisor: Option<Supervisor>,
}

impl Database {
    /// Starts watching the embedded cluster, restarting it when it dies (long-running commands
    /// do this); returns its health, or `None` with `DATABASE_URL`.
    pub fn supervise(&mut self) -> Option<Arc<ClusterHealth>> {
        let cluster = self.cluster.as_ref()?;
        let supervisor = self
            .supervisor
            .get_or_insert_with(|| Supervisor::spawn(cluster.clone()));
        Some(supervisor.health())
    }

    /// One sentence for the startup output when the cluster lives outside the data directory
    /// (the `postgres` user could not reach it).
    pub fn relocation_note(&self, args: &DatabaseArgs) -> Option<String> {
        let place = self.cluster.as_ref()?.relocated()?;
        let data = std::fs::canonicalize(&args.data_dir).unwrap_or_else(|_| args.data_dir.clone());
        Some(format!(
            "The postgres user cannot reach {}, so Beacon's PostgreSQL cluster lives in {} \
             (linked from {}).",
            data.display(),
            place.display(),
            data.join("postgres").display()
        ))
    }

    /// Stops watching, then stops the embedded cluster if this process owns it.
    pub fn shutdown(mut self) -> anyhow::Result<()> {
        drop(self.supervisor.take());
        if let Some(cluster) = self.cluster.take() {
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
            supervisor: None,
        });
    }
    let dir = args.data_dir.clone();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&dir, true))
        .await
        .context("starting PostgreSQL")??;
    match cluster.origin() {
        Origin::Started => tracing::info!("started the embedded PostgreSQL"),
        Origin::Adopted => {
            tracing::info!("took over the embedded PostgreSQL left running by a stopped Beacon")
        }
        Origin::Shared => tracing::info!("using the embedded PostgreSQL another Beacon runs"),
    }
    if let Some(place) = cluster.relocated() {
        tracing::warn!(
            cluster = %place.display(),
            "the postgres user cannot reach the data directory; the cluster lives elsewhere"
        );
    }
    cluster.ensure_database(EMBEDDED_DATABASE).await?;
    Ok(Database {
        owner_url: cluster.url(EMBEDDED_DATABASE),
        cluster: Some(Arc::new(cluster)),
        supervisor: None,
    })
}

/// Applies Beacon's migrations and installs the job queue, as the owner.
pub async fn migrate(owner_url: &str) -> anyhow::Result<()> {
    let applied = tenant::migrate::run(owner_url).await?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied migrations");
    }
    worker::queue::setup(owner_url).await
}
