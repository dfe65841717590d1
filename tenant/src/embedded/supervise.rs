//! Keeps the embedded cluster running: a postmaster that dies (`kill -9`, the OOM killer) is
//! started again, with backoff while starting fails, instead of leaving Beacon answering 503
//! until someone restarts it.
//!
//! The check reads the postmaster's pid file and `/proc` once a second, which costs no process
//! and no connection. A restart is crash recovery from the WAL, so committed data is there.
//! [`ClusterHealth`] is what `/metrics` and `/readyz` show of it. Stopping goes through
//! [`Cluster::stop`], which a restart in progress cannot interleave with.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Cluster, Restart};
use crate::backoff::Backoff;

/// How often the postmaster is looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The embedded cluster's state, shared with `/metrics` and `/readyz`.
#[derive(Debug)]
pub struct ClusterHealth {
    up: AtomicBool,
    restarts: AtomicU64,
}

impl ClusterHealth {
    /// Whether the postmaster ran at the last check.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// How often it was started again since this process began.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }
}

/// The watching task; dropping it stops the watching (not the cluster).
#[derive(Debug)]
pub struct Supervisor {
    health: Arc<ClusterHealth>,
    task: tokio::task::JoinHandle<()>,
}

impl Supervisor {
    /// Starts watching `cluster` (on the current tokio runtime).
    pub fn spawn(cluster: Arc<Cluster>) -> Self {
        let health = Arc::new(ClusterHealth {
            up: AtomicBool::new(cluster.postmaster_alive()),
            restarts: AtomicU64::new(0),
        });
        let task = tokio::spawn(watch(cluster, health.clone()));
        Self { health, task }
    }

    /// The health the supervisor keeps up to date.
    pub fn health(&self) -> Arc<ClusterHealth> {
        self.health.clone()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn watch(cluster: Arc<Cluster>, health: Arc<ClusterHealth>) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        if cluster.postmaster_alive() {
            health.up.store(true, Ordering::Relaxed);
            continue;
        }
        health.up.store(false, Ordering::Relaxed);
        let died = Instant::now();
        tracing::error!("the embedded PostgreSQL stopped unexpectedly; starting it again");
        loop {
            let restarting = cluster.clone();
            let outcome = tokio::task::spawn_blocking(move || restarting.restart())
                .await
                .map_err(anyhow::Error::from)
                .and_then(|result| result);
            match outcome {
                Ok(Restart::Stopping) => return,
                Ok(outcome) => {
                    if outcome == Restart::Started {
                        health.restarts.fetch_add(1, Ordering::Relaxed);
                    }
                    health.up.store(true, Ordering::Relaxed);
                    backoff.reset();
                    tracing::warn!(
                        down_ms = u64::try_from(died.elapsed().as_millis()).unwrap_or(u64::MAX),
                        restarts = health.restarts(),
                        "the embedded PostgreSQL runs again"
                    );
                    break;
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::error!(
                        error = %format!("{error:#}"),
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "starting the embedded PostgreSQL again failed"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}
