//! Running the workers: in-process under `beacon serve`, or alone under `beacon worker`.
//!
//! An apalis worker ends for good at the first database error it meets (a failed fetch,
//! heartbeat or acknowledgement), and its monitor then returns as if all were well. Left
//! alone, a database restart would stop every job, e-mails and rollups alike, until Beacon was
//! restarted. So [`run_until`] runs the workers in a loop: when they end without being asked
//! to, it marks them reconnecting ([`WorkerHealth`]), waits with backoff until the database
//! answers, puts the jobs the dead worker held back in the queue, and starts a fresh worker
//! (a new name: apalis refuses to register a name twice). The same holds with an external
//! `DATABASE_URL` and under `beacon worker`.

use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use apalis::layers::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::{HasherRng, RetryPolicy};
use apalis::prelude::*;
use apalis_postgres::{Config, PgConnectOptions, PgPool, PostgresStorage};
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tenant::backoff::Backoff;
use tokio::sync::Notify;

use crate::health::{WorkerHealth, WorkerState};
use crate::jobs::{Job, JobContext};
use crate::queue::{MAX_ATTEMPTS, QUEUE};
use crate::wakeups::Wakeups;

/// How many jobs one worker runs at once.
const CONCURRENCY: usize = 4;
/// How often a worker looks for jobs when no notification woke it. Notifications
/// (LISTEN/NOTIFY) are lost while the connection is down; this also bounds how long a lost
/// database goes unnoticed by an idle worker.
pub const POLL_EVERY: Duration = Duration::from_secs(5);
/// The workers' connections as they appear in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "beacon-worker";

type Shutdown = Shared<BoxFuture<'static, ()>>;

async fn handle(job: Job, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    job.run(&ctx).await.map_err(|error| {
        tracing::warn!(error = %format!("{error:#}"), "job attempt failed");
        error.into()
    })
}

/// Runs the workers until `shutdown` resolves, then lets running jobs finish (up to 30 s).
/// `owner_url` connects to the queue's tables; `health` is kept up to date. A lost database
/// is waited for, not returned as an error.
pub async fn run_until(
    owner_url: &str,
    ctx: JobContext,
    health: Arc<WorkerHealth>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(owner_url)
        .context("the job queue's database URL")?
        .application_name(APPLICATION_NAME);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options);
    let shutdown: Shutdown = shutdown.boxed().shared();
    let wake_scheduler = Arc::new(Notify::new());
    let scheduler = tokio::spawn(crate::schedule::periodic(
        ctx.db.clone(),
        wake_scheduler.clone(),
    ));
    let streams = tokio::spawn(crate::audit_stream::run(
        ctx.db.clone(),
        ctx.sweeper.clone(),
        ctx.audit_stream.clone(),
        ctx.clock.clone(),
    ));
    let reports = tokio::spawn(crate::reports::run(
        ctx.db.clone(),
        ctx.sweeper.clone(),
        ctx.clock.clone(),
    ));
    let wake_sender = Arc::new(Notify::new());
    let evaluations = tokio::spawn(crate::alerts::run(
        ctx.db.clone(),
        ctx.sweeper.clone(),
        ctx.billing.clone(),
        ctx.public_url.clone(),
        ctx.clock.clone(),
        wake_sender.clone(),
    ));
    let notifications = tokio::spawn(crate::notify::run(
        crate::notify::Sender {
            db: ctx.db.clone(),
            sweeper: ctx.sweeper.clone(),
            outbound: ctx.audit_stream.clone(),
            sealing_key: ctx.sealing_key.clone(),
            mailer: ctx.mailer.clone(),
            billing: ctx.billing.clone(),
        },
        ctx.clock.clone(),
        wake_sender,
    ));
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    let mut failed_worker: Option<String> = None;
    'workers: loop {
        if let Some(name) = failed_worker.take() {
            release_jobs_of(&pool, &name).await;
        }
        let name = format!("beacon-{}", uuid::Uuid::new_v4().simple());
        let started = Instant::now();
        let failure = run_workers(&pool, &ctx, &health, &name, shutdown.clone()).await?;
        if shutdown.clone().now_or_never().is_some() {
            break;
        }
        health.set(WorkerState::Reconnecting);
        tracing::error!(error = %failure, "the job workers lost the database; reconnecting");
        if started.elapsed() > Duration::from_secs(60) {
            backoff.reset();
        }
        loop {
            tokio::select! {
                () = shutdown.clone() => break 'workers,
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
            match sqlx::query("SELECT 1").execute(&pool).await {
                Ok(_) => break,
                Err(error) => {
                    tracing::info!(%error, "the job queue's database does not answer yet");
                }
            }
        }
        health.count_restart();
        failed_worker = Some(name);
        wake_scheduler.notify_one();
        tracing::warn!(
            restarts = health.restarts(),
            "the job workers reconnected; starting them again"
        );
    }
    scheduler.abort();
    streams.abort();
    evaluations.abort();
    reports.abort();
    notifications.abort();
    pool.close().await;
    health.set(WorkerState::Stopped);
    Ok(())
}

/// Runs one generation of workers until shutdown or their first database error; returns that
/// error's description (empty after a shutdown).
async fn run_workers(
    pool: &PgPool,
    ctx: &JobContext,
    health: &Arc<WorkerHealth>,
    name: &str,
    shutdown: Shutdown,
) -> anyhow::Result<String> {
    // Retries wait 1 s, 2 s, 4 s ... up to a minute, with jitter.
    let backoff = ExponentialBackoffMaker::new(
        Duration::from_secs(1),
        Duration::from_secs(60),
        0.5,
        HasherRng::default(),
    )
    .map_err(|e| anyhow::anyhow!("job retry backoff: {e:?}"))?;
    let retries = usize::try_from(MAX_ATTEMPTS - 1).unwrap_or(0);
    let failure = Arc::new(Mutex::new(String::new()));
    let (pool, ctx, name) = (pool.clone(), ctx.clone(), name.to_owned());
    let running = health.clone();
    let recorded = failure.clone();
    Monitor::new()
        .register(move |_restarts| {
            let storage =
                PostgresStorage::<Job>::new(&pool).with_config(Config::default().queue(QUEUE));
            let poll = Strategy::new()
                .stream(Wakeups::new(pool.clone(), QUEUE))
                .interval(POLL_EVERY);
            WorkerBuilder::new(name.clone())
                .backend(PollWith::new(storage, poll))
                .data(ctx.clone())
                .concurrency(CONCURRENCY)
                .retry(RetryPolicy::retries(retries).with_backoff(backoff.clone().make_backoff()))
                .build(handle)
        })
        // A heartbeat is sent once the worker is registered, then every 30 s.
        .on_event(move |_, event| {
            if matches!(event, Event::HeartBeat) {
                running.set(WorkerState::Running);
            }
        })
        // Not restarted in place (that would retry at once, in a loop, while the database is
        // down): `run_until` waits for the database first.
        .should_restart(move |_, error| {
            if let Ok(mut failure) = recorded.lock() {
                *failure = error.to_string();
            }
            false
        })
        .shutdown_timeout(Duration::from_secs(30))
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await
        .context("job workers")?;
    let failure = failure.lock().map(|f| f.clone()).unwrap_or_default();
    Ok(failure)
}

/// Puts back in the queue the jobs a worker that lost the database had taken (apalis would
/// only do so after ten missed heartbeats, five minutes).
async fn release_jobs_of(pool: &PgPool, worker: &str) {
    let released = sqlx::query(
        "UPDATE apalis.jobs SET status = 'Pending', done_at = NULL, lock_by = NULL, \
         lock_at = NULL, attempts = attempts + 1, \
         last_result = '{\"Err\": \"Re-enqueued: its worker lost the database.\"}' \
         WHERE lock_by = $1 AND status IN ('Running', 'Queued')",
    )
    .bind(worker)
    .execute(pool)
    .await;
    match released {
        Ok(done) if done.rows_affected() > 0 => {
            tracing::info!(
                jobs = done.rows_affected(),
                "re-enqueued the jobs of the worker that lost the database"
            );
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "re-enqueueing the lost worker's jobs failed"),
    }
}
