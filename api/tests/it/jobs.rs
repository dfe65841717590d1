//! The job queue: enqueued in the caller's transaction, run by the real worker with retries,
//! and visible to operators.

use serde_json::json;
use tenant::diesel_async::RunQueryDsl;
use worker::Job;
use worker::jobs::SendVerificationEmail;

use crate::support::{As, SmtpServer, TestApp, Workers, assert_problem};

#[derive(tenant::diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = tenant::diesel::sql_types::BigInt)]
    n: i64,
}

async fn job_count(app: &TestApp) -> i64 {
    let mut conn = app.owner_conn().await;
    let n: N = tenant::diesel::sql_query("SELECT count(*) AS n FROM apalis.jobs")
        .get_result(&mut conn)
        .await
        .unwrap();
    n.n
}

#[tokio::test]
async fn a_rolled_back_write_leaves_no_job() {
    let app = TestApp::new().await;
    let result: Result<(), tenant::DbError> = app
        .state
        .db
        .unscoped(async |conn| {
            worker::queue::enqueue(
                conn,
                &Job::SendVerificationEmail(SendVerificationEmail {
                    user_id: uuid::Uuid::new_v4(),
                }),
            )
            .await?;
            Err(tenant::DbError::Pool("forced rollback".into()))
        })
        .await;
    assert!(result.is_err());
    assert_eq!(job_count(&app).await, 0);
}

#[tokio::test]
async fn failing_jobs_are_retried_and_listed_for_operators() {
    let app = TestApp::with_admins(vec!["ops@example.com".into()]).await;
    let operator = app.user("ops@example.com").await;
    let someone = app.user("someone@example.com").await;
    // A job for a user who is gone succeeds without doing anything (idempotent clean-up).
    let mut conn = app.state.db.conn().await.unwrap();
    let gone = worker::queue::enqueue(
        &mut conn,
        &Job::SendVerificationEmail(SendVerificationEmail {
            user_id: uuid::Uuid::new_v4(),
        }),
    )
    .await
    .unwrap();
    drop(conn);
    // A job whose SMTP server refuses connections fails and is retried: the verification
    // e-mail of a sign-up, the only other job in the queue.
    let (status, body) = app
        .json(
            &As::Nobody,
            "POST",
            "/api/v1/auth/signup",
            Some(json!({"email": "retry@example.com", "password": "long enough pw"})),
        )
        .await;
    assert!(status < 300, "{status}: {body}");
    let listed = |jobs: &serde_json::Value, id: &str| {
        jobs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == id)
            .cloned()
    };
    let (_, queued) = app
        .json(
            &As::User(operator.clone()),
            "GET",
            "/api/v1/admin/jobs",
            None,
        )
        .await;
    let ids: Vec<String> = queued["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{queued}");
    assert!(ids.contains(&gone), "{queued}");
    let retried = ids.into_iter().find(|id| *id != gone).unwrap();
    let smtp = SmtpServer::start();
    let port = smtp.port;
    drop(smtp); // nothing listens on the port any more
    let workers = Workers::start_with_smtp(&app, &format!("smtp://127.0.0.1:{port}"));

    // Until the clean-up is done and the sign-up's e-mail has failed for good. (apalis retries
    // within the running attempt: the row says Running, 0 attempts, until the last one ends.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let (done, failed) = loop {
        let (status, jobs) = app
            .json(
                &As::User(operator.clone()),
                "GET",
                "/api/v1/admin/jobs",
                None,
            )
            .await;
        assert_eq!(status, 200, "{jobs}");
        let done = listed(&jobs, &gone).filter(|j| j["status"] == "Done");
        let failed = listed(&jobs, &retried).filter(|j| j["status"] == "Failed");
        if let (Some(done), Some(failed)) = (done, failed) {
            break (done, failed);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "jobs did not progress: {jobs}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    workers.stop().await;
    assert_eq!(done["attempts"], 1, "{done}");
    assert!(done["last_error"].is_null(), "{done}");
    assert!(done["done_at"].is_string(), "{done}");
    // Retried: every one of its five attempts was made, and the last error is shown.
    assert_eq!(failed["kind"], "send_verification_email");
    assert_eq!(failed["max_attempts"], 5);
    assert_eq!(failed["attempts"], 5, "{failed}");
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("SMTP delivery")),
        "{failed}"
    );

    let resp = app
        .call(&As::User(someone), "GET", "/api/v1/admin/jobs", None)
        .await;
    assert_problem(resp, 403, "forbidden").await;
}

#[derive(tenant::diesel::QueryableByName)]
struct Status {
    #[diesel(sql_type = tenant::diesel::sql_types::Text)]
    status: String,
}

async fn job_status(conn: &mut tenant::diesel_async::AsyncPgConnection, id: &str) -> String {
    let row: Status = tenant::diesel::sql_query("SELECT status FROM apalis.jobs WHERE id = $1")
        .bind::<tenant::diesel::sql_types::Text, _>(id)
        .get_result(conn)
        .await
        .unwrap();
    row.status
}

async fn wait_for(what: &str, seconds: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The database goes away under running workers (every connection cut, none allowed), a job is
/// enqueued meanwhile, then the database comes back: the workers notice, say so, reconnect by
/// themselves and run the job. (apalis alone ends the worker at the first database error and
/// never starts it again.)
#[tokio::test(flavor = "multi_thread")]
async fn workers_reconnect_after_losing_the_database_and_run_what_was_enqueued() {
    use worker::WorkerState;
    let app = TestApp::new().await;
    let workers = Workers::start_with_smtp(&app, "smtp://127.0.0.1:9");
    let health = workers.health.clone();
    wait_for("workers running", 30, async || health.is_running()).await;

    // Held through the outage: it enqueues and watches. The outage itself is run from the
    // server's maintenance database (a database cannot close itself).
    let mut held = app.owner_conn().await;
    let mut maintenance = {
        use tenant::diesel_async::AsyncConnection;
        tenant::diesel_async::AsyncPgConnection::establish(&tenant::test_support::database_url(
            &app.test_db.owner_url,
            "postgres",
        ))
        .await
        .unwrap()
    };
    let allow = |allowed: bool| {
        format!(
            "ALTER DATABASE \"{}\" WITH ALLOW_CONNECTIONS {allowed}",
            app.test_db.name
        )
    };
    tenant::diesel::sql_query(allow(false))
        .execute(&mut maintenance)
        .await
        .unwrap();
    tenant::diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut held)
    .await
    .unwrap();
    let cut = std::time::Instant::now();
    wait_for("workers notice the outage", 60, async || {
        health.state().0 == WorkerState::Reconnecting
    })
    .await;
    let job = worker::queue::enqueue(
        &mut held,
        &Job::SendVerificationEmail(SendVerificationEmail {
            user_id: uuid::Uuid::new_v4(),
        }),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        job_status(&mut held, &job).await,
        "Pending",
        "no worker runs it during the outage"
    );

    let noticed = cut.elapsed();
    tenant::diesel::sql_query(allow(true))
        .execute(&mut maintenance)
        .await
        .unwrap();
    let back = std::time::Instant::now();
    let mut status = String::new();
    wait_for("the job enqueued during the outage runs", 90, async || {
        status = job_status(&mut held, &job).await;
        status == "Done"
    })
    .await;
    let ran = back.elapsed();
    assert!(health.is_running(), "{:?}", health.state());
    assert!(health.restarts() >= 1);
    eprintln!(
        "worker outage: noticed after {noticed:?}; job done {ran:?} after the database came back"
    );
    workers.stop().await;
}
