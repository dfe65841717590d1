//! What this process knows about the parts it runs beside HTTP: the in-process job workers and
//! Beacon's own PostgreSQL. `/readyz` reports them (and is not ready while one is down, so a
//! load balancer or orchestrator sees a Beacon whose jobs stopped); `/metrics` exports them.
//! `/healthz` stays a pure liveness check: restarting the process does not fix a database.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use tenant::embedded::ClusterHealth;
use worker::{WorkerHealth, WorkerState};

/// The parts of this process that `/readyz` and `/metrics` report.
#[derive(Clone, Default)]
pub struct Health {
    /// The in-process job workers; `None` with `--no-worker` (they run in `beacon worker`).
    pub worker: Option<Arc<WorkerHealth>>,
    /// Beacon's own PostgreSQL; `None` with `DATABASE_URL`.
    pub embedded_postgres: Option<Arc<ClusterHealth>>,
}

/// Readiness report.
#[derive(Debug, Object)]
pub struct Readiness {
    /// Whether the database answered.
    pub database: bool,
    /// Whether every embedded migration is applied.
    pub migrations: bool,
    /// The job workers of this process.
    pub worker: WorkerReadiness,
    /// Beacon's own PostgreSQL cluster; absent with `DATABASE_URL`.
    #[oai(skip_serializing_if_is_none)]
    pub embedded_postgres: Option<EmbeddedPostgresReadiness>,
    /// Optional data this process runs without, each with what it costs and how to add it
    /// (Beacon is ready without them).
    pub missing_optional: Vec<String>,
}

/// What a Beacon without a GeoIP database lacks, said at startup and in `/readyz`.
pub const NO_GEOIP: &str = "geoip: no BEACON_GEOIP_DB, so events get no country, region or city (set it to a MaxMind-format database)";

/// The optional data ingestion runs without, given its GeoIP database.
pub fn missing_optional(geo: &tenant::ingest::geo::Geo) -> Vec<String> {
    let mut missing = Vec::new();
    if !geo.is_loaded() {
        missing.push(NO_GEOIP.to_owned());
    }
    missing
}

impl Readiness {
    /// Ready: the database answers with the current schema, the workers take jobs (or run
    /// elsewhere) and the embedded cluster, if any, runs.
    pub fn is_ready(&self) -> bool {
        self.database
            && self.migrations
            && matches!(
                self.worker.state,
                WorkerStatus::Running | WorkerStatus::Elsewhere
            )
            && self.embedded_postgres.as_ref().is_none_or(|pg| pg.up)
    }
}

/// What the job workers are doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WorkerStatus {
    /// Not yet registered with the queue.
    Starting,
    /// Taking jobs.
    Running,
    /// Lost the database; they start again by themselves once it answers.
    Reconnecting,
    /// Shutting down.
    Stopped,
    /// This process runs no workers (`--no-worker`); `beacon worker` does.
    Elsewhere,
}

/// The job workers in the readiness report.
#[derive(Debug, Object)]
pub struct WorkerReadiness {
    /// What they are doing.
    pub state: WorkerStatus,
    /// Since when (absent for `elsewhere`).
    #[oai(skip_serializing_if_is_none)]
    pub since: Option<DateTime<Utc>>,
    /// How often they reconnected after losing the database since this process started.
    pub restarts: u64,
}

/// The embedded PostgreSQL in the readiness report.
#[derive(Debug, Object)]
pub struct EmbeddedPostgresReadiness {
    /// Whether its postmaster runs (it is started again when it dies).
    pub up: bool,
    /// How often it was started again since this process started.
    pub restarts: u64,
}

impl Health {
    /// The readiness report, given the database checks.
    pub fn readiness(&self, database: bool, migrations: bool) -> Readiness {
        let worker = match &self.worker {
            None => WorkerReadiness {
                state: WorkerStatus::Elsewhere,
                since: None,
                restarts: 0,
            },
            Some(worker) => {
                let (state, since) = worker.state();
                WorkerReadiness {
                    state: match state {
                        WorkerState::Starting => WorkerStatus::Starting,
                        WorkerState::Running => WorkerStatus::Running,
                        WorkerState::Reconnecting => WorkerStatus::Reconnecting,
                        WorkerState::Stopped => WorkerStatus::Stopped,
                    },
                    since: Some(since.into()),
                    restarts: worker.restarts(),
                }
            }
        };
        Readiness {
            database,
            migrations,
            worker,
            embedded_postgres: self.embedded_postgres.as_ref().map(|pg| {
                EmbeddedPostgresReadiness {
                    up: pg.is_up(),
                    restarts: pg.restarts(),
                }
            }),
            missing_optional: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_the_workers_run_here_or_elsewhere() {
        let elsewhere = Health::default();
        assert!(elsewhere.readiness(true, true).is_ready());
        assert!(!elsewhere.readiness(false, false).is_ready());
        assert!(!elsewhere.readiness(true, false).is_ready());
        let starting = Health {
            worker: Some(Arc::new(WorkerHealth::default())),
            embedded_postgres: None,
        };
        let report = starting.readiness(true, true);
        assert_eq!(report.worker.state, WorkerStatus::Starting);
        assert!(report.worker.since.is_some());
        assert!(!report.is_ready(), "workers that do not take jobs yet");
    }
}
