//! Evaluating alerts on their schedules: a loop in every worker process finds the due
//! schedules of every organization (the sweeper's view of `schedules`: ids and times only)
//! and runs each in its organization's scope ([`tenant::alerts::evaluate::run_schedule`]).
//! Several processes may run the loop: a schedule is claimed under its row lock, so each slot
//! is evaluated once. After downtime, each schedule runs once for its latest slot. An
//! organization whose plan no longer has the `alerts` feature has its slots passed over
//! unevaluated (its rules are kept for when it has the feature again).

use std::sync::Arc;
use std::time::Duration;

use billing::Feature;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tenant::alerts::evaluate::run_schedule;
use tenant::tables::schedules;
use tenant::{Db, DbError};
use tokio::sync::Notify;

/// How often the loop looks for due schedules.
pub const POLL_EVERY: Duration = Duration::from_secs(10);
/// Most schedules taken per round.
pub const BATCH: i64 = 2_000;
/// Schedules evaluated at once by one process.
pub const CONCURRENCY: usize = 4;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Schedules evaluated.
    pub evaluated: usize,
    /// State changes.
    pub transitions: usize,
    /// Deliveries queued.
    pub queued: usize,
}

/// Evaluates every schedule due at `now` once; links in notifications point to `public_url`.
pub async fn evaluate_due(
    db: &Db,
    sweeper: &Db,
    billing: &billing::Billing,
    now: DateTime<Utc>,
    public_url: &str,
) -> anyhow::Result<Round> {
    let due = sweeper
        .unscoped(async |conn| {
            Ok::<_, DbError>(schedules::due(conn, now, BATCH, schedules::Work::Alerts).await?)
        })
        .await?;
    let results: Vec<_> = futures::stream::iter(due)
        .map(|found| async move {
            let ran = db
                .scoped(found.org_id, async |conn| {
                    let entitlements = billing.entitlements(conn, found.org_id, now).await?;
                    if entitlements.require(Feature::Alerts).is_err() {
                        schedules::claim(conn, found.org_id, found.schedule_id, now).await?;
                        return Ok(None);
                    }
                    Ok::<_, DbError>(
                        run_schedule(conn, found.org_id, found.schedule_id, now, public_url)
                            .await?,
                    )
                })
                .await;
            if let Err(error) = &ran {
                tracing::warn!(org_id = %found.org_id, %error, "evaluating an alert failed");
            }
            ran.ok().flatten()
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut round = Round::default();
    for ran in results.into_iter().flatten() {
        round.evaluated += 1;
        round.transitions += usize::from(ran.transition.is_some());
        round.queued += ran.queued;
    }
    Ok(round)
}

/// Evaluates due schedules every [`POLL_EVERY`] until the process ends, waking the sender
/// (`deliveries`) when notifications were queued.
pub async fn run(
    db: Db,
    sweeper: Db,
    billing: Arc<billing::Billing>,
    public_url: String,
    clock: tenant::Clock,
    deliveries: Arc<Notify>,
) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    loop {
        tick.tick().await;
        match evaluate_due(&db, &sweeper, &billing, clock.now(), &public_url).await {
            Ok(round) if round.queued > 0 => deliveries.notify_one(),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "looking for due alerts failed");
            }
        }
    }
}
