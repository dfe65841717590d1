//! Test databases: a fresh database per test, cloned from a migrated template.
//!
//! With `DATABASE_URL` set, databases are made on that server. Otherwise one throwaway cluster
//! (the same embedded cluster `beacon serve` uses, with fsync off) is shared by every test
//! process of the run, under `BEACON_TEST_PG_DIR` (default: a directory in the temp dir). A
//! file lock makes the first process start it and migrate the template; the others reuse both.
//! Cloning a template takes milliseconds, so every test gets its own database and tests run in
//! parallel under `cargo nextest`.

use std::path::PathBuf;

use anyhow::Context;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use uuid::Uuid;

use crate::db::{Db, PoolConfig};
use crate::embedded::Cluster;

/// A hook run on the template after the schema migrations (the worker uses it to install the
/// job queue).
pub type TemplateHook =
    fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;

/// A fresh, migrated database for one test.
pub struct TestDb {
    /// Owner URL (migrations, superuser checks).
    pub owner_url: String,
    /// Application pool (role `beacon_app`).
    pub db: Db,
    /// Database name.
    pub name: String,
}

impl TestDb {
    /// Clones the migrated template into a new database. `hook` prepares the template once.
    pub async fn new(hook: Option<TemplateHook>) -> anyhow::Result<Self> {
        let server = server_url()?;
        let template = ensure_template(&server, hook).await?;
        let name = format!("t_{}", Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&database_url(&server, "postgres"))
            .await
            .context("connecting to the test server")?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .context("cloning the template database")?;
        let owner_url = database_url(&server, &name);
        let db = Db::connect(&owner_url, &PoolConfig::default())?;
        Ok(Self {
            owner_url,
            db,
            name,
        })
    }
}

/// Base URL of the test server, without a database name.
fn server_url() -> anyhow::Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Ok(url);
    }
    static CLUSTER_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(url) = CLUSTER_URL.get() {
        return Ok(url.clone());
    }
    let dir = std::env::var_os("BEACON_TEST_PG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("beacon-test-pg"));
    std::fs::create_dir_all(&dir)?;
    let lock = std::fs::File::create(dir.join("lock"))?;
    lock.lock()?;
    let cluster = Cluster::start(&dir, false)?;
    let url = cluster.url("postgres");
    // The cluster outlives this process on purpose: the next test process reuses it. The test
    // command stops it at the end of the run.
    std::mem::forget(cluster);
    drop(lock);
    Ok(CLUSTER_URL.get_or_init(|| url).clone())
}

/// `url` with its database name replaced.
pub fn database_url(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], database);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Creates the template for the current migrations once per server (under an advisory lock).
async fn ensure_template(server: &str, hook: Option<TemplateHook>) -> anyhow::Result<String> {
    let versions = crate::migrate::embedded_versions()?.join(",");
    let hook_tag = if hook.is_some() { "j" } else { "n" };
    let digest = crate::secrets::token_hash(&format!("{versions}|{hook_tag}"));
    let template = format!("beacon_tpl_{}", hex::encode(&digest[..6]));
    let mut admin = AsyncPgConnection::establish(&database_url(server, "postgres")).await?;
    admin
        .batch_execute("SELECT pg_advisory_lock(72417)")
        .await?;
    let result = create_template_if_missing(&mut admin, server, &template, hook).await;
    admin
        .batch_execute("SELECT pg_advisory_unlock(72417)")
        .await?;
    result.map(|()| template)
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn create_template_if_missing(
    admin: &mut AsyncPgConnection,
    server: &str,
    template: &str,
    hook: Option<TemplateHook>,
) -> anyhow::Result<()> {
    let exists: Count =
        diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(template)
            .get_result(admin)
            .await?;
    if exists.n > 0 {
        return Ok(());
    }
    let building = format!("{template}_build");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {building}"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {building}"))
        .await?;
    let url = database_url(server, &building);
    crate::migrate::run(&url).await?;
    if let Some(hook) = hook {
        hook(url.clone()).await?;
    }
    admin
        .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
        .await?;
    Ok(())
}
