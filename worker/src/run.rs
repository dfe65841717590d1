//! Running the workers: in-process under `beacon serve`, or alone under `beacon worker`.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use apalis::layers::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::{HasherRng, RetryPolicy};
use apalis::prelude::*;
use apalis_postgres::{Config, PgPool, PostgresStorage};

use crate::jobs::{Job, JobContext};
use crate::queue::{MAX_ATTEMPTS, QUEUE};

/// How many jobs one worker runs at once.
const CONCURRENCY: usize = 4;

async fn handle(job: Job, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    job.run(&ctx).await.map_err(|error| {
        tracing::warn!(error = %format!("{error:#}"), "job attempt failed");
        error.into()
    })
}

/// Runs the workers until `shutdown` resolves, then lets running jobs finish (up to 30 s).
/// `owner_url` connects to the queue's tables.
pub async fn run_until(
    owner_url: &str,
    ctx: JobContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = PgPool::connect(owner_url)
        .await
        .context("connecting the job queue")?;
    // Retries wait 1 s, 2 s, 4 s ... up to a minute, with jitter.
    let backoff = ExponentialBackoffMaker::new(
        Duration::from_secs(1),
        Duration::from_secs(60),
        0.5,
        HasherRng::default(),
    )
    .map_err(|e| anyhow::anyhow!("job retry backoff: {e:?}"))?;
    let retries = usize::try_from(MAX_ATTEMPTS - 1).unwrap_or(0);
    let name = format!("beacon-{}", uuid::Uuid::new_v4().simple());
    let scheduler = tokio::spawn(schedule_periodic(ctx.db.clone()));
    Monitor::new()
        .register(move |_restarts| {
            let storage = PostgresStorage::<Job>::new(&pool)
                .with_config(Config::default().queue(QUEUE))
                .with_pubsub();
            WorkerBuilder::new(name.clone())
                .backend(storage)
                .data(ctx.clone())
                .concurrency(CONCURRENCY)
                .retry(RetryPolicy::retries(retries).with_backoff(backoff.clone().make_backoff()))
                .build(handle)
        })
        .shutdown_timeout(Duration::from_secs(30))
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await
        .context("job workers")?;
    scheduler.abort();
    Ok(())
}

/// How often the rollup job is enqueued (the hourly jobs are enqueued on the same tick, once
/// per hour).
pub const ROLLUP_EVERY: Duration = Duration::from_secs(300);

/// Enqueues the periodic jobs at start and then on every tick: salt rotation and event
/// maintenance once per hour, rollups once per five minutes, each once across all workers
/// (an idempotency key per period).
async fn schedule_periodic(db: tenant::Db) {
    use crate::jobs::{MaintainEventsAllTenants, RollupAllTenants, RotateSaltsAllTenants};
    let mut tick = tokio::time::interval(ROLLUP_EVERY);
    loop {
        tick.tick().await;
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
