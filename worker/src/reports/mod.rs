//! E-mail reports on their schedules: a loop in every worker process finds the due report
//! schedules of every organization (the sweeper's view of `schedules`) and, in each
//! organization's scope, claims the slot and enqueues one [`SendReport`] job in the same
//! transaction. A slot is claimed once across any number of processes, and its job exists if
//! and only if the claim committed; the job mails each subscriber once. After downtime only the
//! latest missed slot runs.

pub mod chart;

use std::time::Duration;

use chrono::{DateTime, Utc};
use tenant::tables::{reports, schedules};
use tenant::{Db, DbError};

use crate::jobs::{Job, SendReport};

/// How often the loop looks for due reports.
pub const POLL_EVERY: Duration = Duration::from_secs(60);
/// Most schedules taken per round.
pub const BATCH: i64 = 500;

/// Claims every report slot due at `now` and enqueues its job; returns how many were queued.
pub async fn queue_due(db: &Db, sweeper: &Db, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let due = sweeper
        .unscoped(async |conn| {
            Ok::<_, DbError>(schedules::due(conn, now, BATCH, schedules::Work::Reports).await?)
        })
        .await?;
    let mut queued = 0;
    for found in due {
        let result = db
            .scoped(found.org_id, async |conn| {
                let Some(claimed) =
                    schedules::claim(conn, found.org_id, found.schedule_id, now).await?
                else {
                    return Ok::<_, DbError>(false);
                };
                let Some(report_id) = claimed.report_id else {
                    return Ok(false);
                };
                let Some(report) = reports::find(conn, found.org_id, report_id).await? else {
                    return Ok(false);
                };
                let job = Job::SendReport(SendReport {
                    org_id: found.org_id.uuid(),
                    project_id: report.project_id,
                    cadence: report.cadence,
                    slot: claimed.slot,
                    preview_to: None,
                });
                crate::queue::enqueue(conn, &job).await?;
                Ok(true)
            })
            .await;
        match result {
            Ok(true) => queued += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(org_id = %found.org_id, %error, "queueing a report failed");
            }
        }
    }
    Ok(queued)
}

/// Queues due reports every [`POLL_EVERY`] until the process ends.
pub async fn run(db: Db, sweeper: Db, clock: tenant::Clock) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    loop {
        tick.tick().await;
        if let Err(error) = queue_due(&db, &sweeper, clock.now()).await {
            tracing::warn!(error = %format!("{error:#}"), "looking for due reports failed");
        }
    }
}
