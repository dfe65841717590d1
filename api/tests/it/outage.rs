//! A database outage against the real binary: the embedded postmaster is killed with SIGKILL
//! under ingest load. Beacon must start it again by itself, lose no acknowledged event, run a
//! job enqueued right after the outage, report all of it in `/readyz`, `/metrics` and its log,
//! and still stop the cluster on a graceful shutdown. The timings it prints are the figures in
//! `docs/benchmarks.md`.

use std::io::BufReader;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::{Text, Uuid as SqlUuid};
use tenant::diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use worker::Job;
use worker::jobs::SendPasswordReset;

use crate::cli::{DataDir, free_port, get, postmaster_pid, seed};
use crate::durability::{post_event, start};

#[derive(QueryableByName)]
struct Text_ {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
}

fn readiness(port: u16) -> Option<(u16, Value)> {
    let (status, body) = get(port, "/readyz")?;
    Some((status, serde_json::from_str(&body).ok()?))
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_postmaster_is_restarted_under_load_losing_nothing_and_jobs_resume() {
    let data = DataDir::new();
    let log = data.0.join("beacon.log");
    let port = free_port();
    let mut server = start(&data.0, port, &log);
    seed(
        &data.0,
        &[
            "--domain",
            "outage.example",
            "--email",
            "outage@example.com",
        ],
    );
    let url = format!(
        "postgres://beacon@localhost/beacon?host={}",
        data.0.join("run").display()
    );

    // Four clients send events over keep-alive until told to stop, through the outage: a 503
    // is retried a moment later, a broken connection is opened again.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let refused = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (stop, acked, refused) = (stop.clone(), acked.clone(), refused.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !AtomicBool::load(&stop, Ordering::Relaxed) {
                    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    };
                    let mut stream = BufReader::new(stream);
                    while !AtomicBool::load(&stop, Ordering::Relaxed) {
                        i += 1;
                        let path = format!("/o/{client}/{i}");
                        let body = format!(
                            r#"{{"n":"pageview","u":"https://outage.example{path}","d":"outage.example"}}"#
                        );
                        let headers = format!(
                            "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\nX-Forwarded-For: 203.0.113.{}\r\n",
                            i % 250
                        );
                        match post_event(&mut stream, &body, &headers) {
                            Some(202) => acked.lock().unwrap().push((Instant::now(), path)),
                            Some(_) => {
                                refused.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(50));
                            }
                            None => break,
                        }
                    }
                }
            })
        })
        .collect();
    // Under way: at least 100 events acknowledged (a busy machine takes longer to get there).
    wait_until("100 events acknowledged", Duration::from_secs(60), || {
        acked.lock().unwrap().len() >= 100
    });
    let acked_before = acked.lock().unwrap().len();

    // SIGKILL the postmaster.
    let postmaster = postmaster_pid(&data.0).expect("postmaster running");
    let killed = Instant::now();
    std::process::Command::new("kill")
        .args(["-9", &postmaster])
        .status()
        .unwrap();

    // Beacon notices and starts it again: a new postmaster takes connections.
    let down = wait_until("the database is down", Duration::from_secs(10), || {
        readiness(port).is_some_and(|(status, _)| status == 503)
    });
    let mut db = loop {
        if postmaster_pid(&data.0).is_some_and(|pid| pid != postmaster)
            && let Ok(conn) = AsyncPgConnection::establish(&url).await
        {
            break conn;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "the embedded PostgreSQL was not started again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let restarted = killed.elapsed();

    // A job enqueued the moment the database takes writes again, before the workers are
    // necessarily back: a password reset e-mail, which must be sent.
    let user: Id = tenant::diesel::sql_query("SELECT id FROM users WHERE email = $1")
        .bind::<Text, _>("outage@example.com")
        .get_result(&mut db)
        .await
        .unwrap();
    let job = worker::queue::enqueue(
        &mut db,
        &Job::SendPasswordReset(SendPasswordReset { user_id: user.id }),
    )
    .await
    .unwrap();
    let worker_when_enqueued = readiness(port).map(|(_, body)| body["worker"].clone());
    let job_done = loop {
        let status: Text_ =
            tenant::diesel::sql_query("SELECT status AS value FROM apalis.jobs WHERE id = $1")
                .bind::<Text, _>(&job)
                .get_result(&mut db)
                .await
                .unwrap();
        if status.value == "Done" {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(120),
            "the job enqueued after the outage did not run: {}",
            status.value
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mails: Vec<String> = std::fs::read_dir(data.0.join("mail"))
        .unwrap()
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .collect();
    assert!(
        mails
            .iter()
            .any(|mail| mail.contains("Reset your Beacon password")),
        "the reset e-mail was sent ({} mails)",
        mails.len()
    );

    // Ready again, and saying what happened.
    let mut report = Value::Null;
    wait_until("ready again", Duration::from_secs(60), || {
        match readiness(port) {
            Some((200, body)) => {
                report = body;
                true
            }
            _ => false,
        }
    });
    let ready_again = killed.elapsed();
    assert_eq!(report["embedded_postgres"]["up"], true, "{report}");
    assert_eq!(report["embedded_postgres"]["restarts"], 1, "{report}");
    assert_eq!(report["worker"]["state"], "running", "{report}");
    let (_, metrics) = get(port, "/metrics").unwrap();
    for line in [
        "beacon_embedded_postgres_up 1",
        "beacon_embedded_postgres_restarts_total 1",
        "beacon_worker_up 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from /metrics");
    }

    // Load goes on after the restart (100 more acknowledgements), then stops.
    let resumed_at = killed + restarted;
    wait_until(
        "ingestion resumes after the restart",
        Duration::from_secs(60),
        || {
            acked
                .lock()
                .unwrap()
                .iter()
                .filter(|(at, _)| *at > resumed_at)
                .count()
                >= 100
        },
    );
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let acked_after = acked.iter().filter(|(at, _)| *at > resumed_at).count();

    // Zero acknowledged events lost.
    let stored: Vec<Text_> = tenant::diesel::sql_query(
        "SELECT pathname AS value FROM events WHERE pathname LIKE '/o/%'",
    )
    .load(&mut db)
    .await
    .unwrap();
    let stored: std::collections::HashSet<String> =
        stored.into_iter().map(|row| row.value).collect();
    let lost: Vec<&String> = acked
        .iter()
        .map(|(_, path)| path)
        .filter(|path| !stored.contains(*path))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost: {:?}",
        &lost[..lost.len().min(10)]
    );
    drop(db);

    // A graceful stop still stops the restarted cluster.
    std::process::Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        postmaster_pid(&data.0).is_none(),
        "the restarted PostgreSQL was left running"
    );

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("the embedded PostgreSQL stopped unexpectedly"),
        "the death is logged"
    );
    let restart_took = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "the embedded PostgreSQL runs again")
        .map(|line| line["fields"]["down_ms"].clone())
        .expect("the restart is logged");
    assert!(logs.contains("send_event"), "the access log was written");
    assert!(
        !logs.contains("203.0.113."),
        "an IP address reached the log"
    );

    eprintln!(
        "outage: {} events acknowledged ({acked_before} before the kill, {acked_after} after the \
         restart), {} answered 503 meanwhile, 0 lost; /readyz 503 after {down:?}; postmaster \
         accepting again after {restarted:?} (from noticing its death to running again: \
         {restart_took} ms); job enqueued then (workers: {}) done after \
         {job_done:?}; /readyz 200 after {ready_again:?}; worker restarts: {}",
        acked.len(),
        AtomicU64::load(&refused, Ordering::Relaxed),
        worker_when_enqueued.unwrap_or_default(),
        report["worker"]["restarts"],
    );
}
