//! The periodic jobs: enqueued at worker start, on every tick, and again as soon as the workers
//! reconnect after losing the database (a tick that fell into the outage failed).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::jobs::Job;

/// How often the rollup job is enqueued (the hourly jobs are enqueued on the same tick, once
/// per hour). Its period bounds how long the newest events of a visit already rolled up are
/// missing from the dashboards (`tenant::stats::rollups`).
pub const ROLLUP_EVERY: Duration = Duration::from_secs(60);

/// Enqueues the periodic jobs at start, on every tick and whenever `wake` is notified: salt
/// rotation, event maintenance, usage metering, audit retention, erasure, domain checks,
/// due-task reminders and replay retention once per hour, rollups once a minute, each once
/// across all workers (an idempotency key per period).
pub(crate) async fn periodic(db: tenant::Db, wake: Arc<Notify>) {
    use crate::jobs::{
        EraseOrganizations, MaintainEventsAllTenants, MeterUsageAllTenants, PruneAuditAllTenants,
        PruneReplaysAllTenants, RemindDueTasksAllTenants, RollupAllTenants, RotateSaltsAllTenants,
        VerifyDomainsAllTenants,
    };
    let mut tick = tokio::time::interval(ROLLUP_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = wake.notified() => {}
        }
        let now = chrono::Utc::now();
        let hour = now.format("%Y%m%d%H").to_string();
        let slot = now.timestamp() / ROLLUP_EVERY.as_secs() as i64;
        let jobs = [
            (
                Job::RotateSaltsAllTenants(RotateSaltsAllTenants {}),
                format!("rotate_salts:{hour}"),
            ),
            (
                Job::MaintainEventsAllTenants(MaintainEventsAllTenants {}),
                format!("maintain_events:{hour}"),
            ),
            (
                Job::RollupAllTenants(RollupAllTenants {}),
                format!("rollup:{slot}"),
            ),
            (
                Job::MeterUsageAllTenants(MeterUsageAllTenants {}),
                format!("meter_usage:{hour}"),
            ),
            (
                Job::PruneAuditAllTenants(PruneAuditAllTenants {}),
                format!("prune_audit:{hour}"),
            ),
            (
                Job::EraseOrganizations(EraseOrganizations {}),
                format!("erase_organizations:{hour}"),
            ),
            (
                Job::VerifyDomainsAllTenants(VerifyDomainsAllTenants {}),
                format!("verify_domains:{hour}"),
            ),
            (
                Job::RemindDueTasksAllTenants(RemindDueTasksAllTenants {}),
                format!("remind_due_tasks:{hour}"),
            ),
            (
                Job::PruneReplaysAllTenants(PruneReplaysAllTenants {}),
                format!("prune_replays:{hour}"),
            ),
        ];
        let result: Result<(), tenant::DbError> = db
            .unscoped(async |conn| {
                for (job, key) in &jobs {
                    crate::queue::enqueue_once(conn, job, key).await?;
                }
                Ok(())
            })
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, "scheduling periodic jobs failed; will retry next tick");
        }
    }
}
