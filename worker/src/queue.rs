//! The job queue: installing it, enqueueing inside a Diesel transaction, and reading its state.
//!
//! apalis-postgres 1.0's `apalis.push_job` SQL function still inserts JSON into the (since
//! migrated) `bytea` column and fails, so [`enqueue`] inserts the row itself, exactly as the
//! driver's own sink does: a ULID id, the queue name as `job_type`, and the JSON payload as
//! bytes (apalis' default JSON codec). A test round-trips a job through a real worker.

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenant::{diesel, diesel_async};

use crate::jobs::Job;

/// The queue (apalis `job_type`) every Beacon job goes through.
pub const QUEUE: &str = "beacon";
/// Attempts before a job is left failed.
pub const MAX_ATTEMPTS: i32 = 5;

/// Installs or upgrades apalis' schema through the owner connection `owner_url`, and lets the
/// application role enqueue and read jobs.
pub async fn setup(owner_url: &str) -> anyhow::Result<()> {
    let pool = apalis_postgres::PgPool::connect(owner_url)
        .await
        .context("connecting to PostgreSQL for the job queue")?;
    apalis_postgres::PostgresStorage::setup(&pool)
        .await
        .context("installing the job queue schema")?;
    sqlx::raw_sql(
        "GRANT USAGE ON SCHEMA apalis TO beacon_app; \
         GRANT SELECT, INSERT ON apalis.jobs TO beacon_app; \
         GRANT EXECUTE ON FUNCTION apalis.generate_ulid() TO beacon_app;",
    )
    .execute(&pool)
    .await
    .context("granting the application role access to the job queue")?;
    pool.close().await;
    Ok(())
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Enqueues `job` on `conn`, inside whatever transaction `conn` is in; returns the job id.
pub async fn enqueue(conn: &mut AsyncPgConnection, job: &Job) -> diesel::QueryResult<String> {
    let payload = serde_json::to_string(job)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let row: Inserted = diesel::sql_query(
        "INSERT INTO apalis.jobs (id, job_type, job, max_attempts) \
         VALUES (apalis.generate_ulid(), $1, convert_to($2, 'UTF8'), $3) RETURNING id",
    )
    .bind::<Text, _>(QUEUE)
    .bind::<Text, _>(payload)
    .bind::<Integer, _>(MAX_ATTEMPTS)
    .get_result(conn)
    .await?;
    Ok(row.id)
}

/// Enqueues `job` unless one with the same `key` was already enqueued (periodic jobs use a key
/// per period, so several workers scheduling the same run enqueue it once).
pub async fn enqueue_once(
    conn: &mut AsyncPgConnection,
    job: &Job,
    key: &str,
) -> diesel::QueryResult<bool> {
    enqueue_once_at(conn, job, key, None).await
}

/// [`enqueue_once`], due at `run_at` (now when `None`).
pub async fn enqueue_once_at(
    conn: &mut AsyncPgConnection,
    job: &Job,
    key: &str,
    run_at: Option<DateTime<Utc>>,
) -> diesel::QueryResult<bool> {
    let payload = serde_json::to_string(job)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let rows = diesel::sql_query(
        "INSERT INTO apalis.jobs (id, job_type, job, max_attempts, idempotency_key, run_at) \
         VALUES (apalis.generate_ulid(), $1, convert_to($2, 'UTF8'), $3, $4, coalesce($5, now())) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(QUEUE)
    .bind::<Text, _>(payload)
    .bind::<Integer, _>(MAX_ATTEMPTS)
    .bind::<Text, _>(key)
    .bind::<Nullable<Timestamptz>, _>(run_at)
    .execute(conn)
    .await?;
    Ok(rows > 0)
}

#[derive(QueryableByName)]
struct Waiting {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    waiting: bool,
}

/// Whether the job enqueued under `key` has not started yet.
pub async fn is_waiting(conn: &mut AsyncPgConnection, key: &str) -> diesel::QueryResult<bool> {
    let row: Waiting = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM apalis.jobs WHERE job_type = $1 AND idempotency_key = $2 \
                        AND status IN ('Pending', 'Queued')) AS waiting",
    )
    .bind::<Text, _>(QUEUE)
    .bind::<Text, _>(key)
    .get_result(conn)
    .await?;
    Ok(row.waiting)
}

/// A job as shown to operators.
#[derive(Debug, Clone, QueryableByName)]
pub struct JobRow {
    /// Job id (ULID).
    #[diesel(sql_type = Text)]
    pub id: String,
    /// Job kind (the payload's `type`).
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// apalis status: Pending, Queued, Running, Done, Failed, Killed.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Attempts made.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// Attempts allowed.
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
    /// When it is due.
    #[diesel(sql_type = Timestamptz)]
    pub run_at: DateTime<Utc>,
    /// When it finished.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub done_at: Option<DateTime<Utc>>,
    /// Error of the last failed attempt.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
}

/// The most recent jobs, newest first, with ids below `before` (ULIDs sort by time).
pub async fn recent(
    conn: &mut AsyncPgConnection,
    before: Option<&str>,
    limit: i64,
) -> diesel::QueryResult<Vec<JobRow>> {
    diesel::sql_query(
        "SELECT id, \
                coalesce(convert_from(job, 'UTF8')::jsonb ->> 'type', '?') AS kind, \
                status, attempts, max_attempts, run_at, done_at, \
                last_result ->> 'Err' AS last_error \
         FROM apalis.jobs \
         WHERE job_type = $1 AND ($2::text IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $3",
    )
    .bind::<Text, _>(QUEUE)
    .bind::<Nullable<Text>, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct Depth {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Jobs waiting to run (pending, queued, or failed with attempts left).
pub async fn depth(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    let depth: Depth = diesel::sql_query(
        "SELECT count(*) AS n FROM apalis.jobs WHERE job_type = $1 AND \
         (status IN ('Pending', 'Queued') OR (status = 'Failed' AND attempts < max_attempts))",
    )
    .bind::<Text, _>(QUEUE)
    .get_result(conn)
    .await?;
    Ok(depth.n)
}
