//! The `beacon` binary with its own PostgreSQL: first start, `seed` beside a running server,
//! recovery after SIGKILL (of Beacon and of the postmaster), graceful SIGTERM, and the message
//! when PostgreSQL is not installed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");

pub(crate) struct DataDir(pub(crate) PathBuf);

impl DataDir {
    pub(crate) fn new() -> Self {
        // Short, so the unix socket path fits; world-traversable, so a root run's postgres user
        // can reach it.
        let dir = PathBuf::from(format!(
            "/tmp/bcn-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Self(dir)
    }
}

/// A running `beacon serve`, killed (and reaped) when dropped, so a test that fails before it
/// stops its server does not leave the process running.
pub(crate) struct Served(pub Child);

impl std::ops::Deref for Served {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let pid_file = self.0.join("postgres/postmaster.pid");
        if let Some(pid) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
        {
            let _ = Command::new("kill").args(["-9", &pid]).status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn beacon(data: &Path) -> Command {
    let mut cmd = Command::new(BEACON);
    cmd.env_remove("DATABASE_URL")
        .env("BEACON_DATA", data)
        .env("BEACON_LOG", "warn");
    cmd
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Some((status, body))
}

pub(crate) fn serve(data: &Path, port: u16) -> (Served, Duration) {
    serve_with(data, port, &[])
}

/// Starts `beacon serve` with extra environment variables and waits until it is ready.
pub(crate) fn serve_with(data: &Path, port: u16, env: &[(&str, &str)]) -> (Served, Duration) {
    let started = Instant::now();
    let child = Served(
        beacon(data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = started + Duration::from_secs(120);
    loop {
        if let Some((200, _)) = get(port, "/readyz") {
            return (child, started.elapsed());
        }
        assert!(
            Instant::now() < deadline,
            "beacon serve did not become ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn seed(data: &Path, extra: &[&str]) -> Value {
    let output: Output = beacon(data)
        .args(["seed", "--demo", "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "seed failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

pub(crate) fn postmaster_pid(data: &Path) -> Option<String> {
    std::fs::read_to_string(data.join("postgres/postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next().map(str::to_owned))
}

#[test]
fn embedded_postgres_seed_kill_and_restart() {
    let data = DataDir::new();
    let port = free_port();
    let (mut server, ready_in) = serve(&data.0, port);
    eprintln!("fresh data directory: ready in {ready_in:?}");

    // seed beside the running server, twice: same organization, fresh working key.
    let first = seed(&data.0, &[]);
    for field in [
        "email",
        "password",
        "org_id",
        "project_id",
        "domain",
        "api_key",
        "ingest_key",
    ] {
        assert!(
            first[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field} missing: {first}"
        );
    }
    assert!(first["ingest_id"].as_i64().is_some());
    let again = seed(&data.0, &[]);
    assert_eq!(first["org_id"], again["org_id"]);
    assert_eq!(first["project_id"], again["project_id"]);
    let other = seed(
        &data.0,
        &[
            "--email",
            "second@example.com",
            "--domain",
            "second.example",
        ],
    );
    assert_ne!(first["org_id"], other["org_id"]);

    // SIGKILL Beacon and its postmaster: the next start recovers.
    let postmaster = postmaster_pid(&data.0).expect("postmaster running");
    server.kill().unwrap();
    server.wait().unwrap();
    Command::new("kill")
        .args(["-9", &postmaster])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (server, _) = serve(&data.0, port);
    let again = seed(&data.0, &[]);
    assert_eq!(first["org_id"], again["org_id"], "data survived the crash");

    // SIGTERM: drains, exits 0, and stops the PostgreSQL it started.
    terminate(server);
    assert!(
        postmaster_pid(&data.0).is_none(),
        "the embedded PostgreSQL was left running"
    );
}

#[test]
fn missing_postgres_names_the_package() {
    let data = DataDir::new();
    let output = beacon(&data.0)
        .env("BEACON_PG_BIN", "/nonexistent/bin")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
}

fn process_runs(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_owned();
            Some(state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// Sends SIGTERM and waits (at most a minute) for `server` to exit successfully.
fn terminate(mut server: Served) {
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "beacon did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
}

/// A `serve` killed with SIGKILL leaves its postmaster running; the next `serve` takes it over
/// (without restarting it) and so stops it on its own graceful shutdown.
#[test]
fn a_cluster_left_by_a_killed_serve_is_stopped_by_the_next_one() {
    let data = DataDir::new();
    let port = free_port();
    let (mut first, _) = serve(&data.0, port);
    let postmaster = postmaster_pid(&data.0).expect("postmaster running");
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        process_runs(&postmaster),
        "SIGKILL of Beacon leaves PostgreSQL running"
    );

    let (second, _) = serve(&data.0, port);
    assert_eq!(
        postmaster_pid(&data.0).as_deref(),
        Some(postmaster.as_str()),
        "the running cluster is reused"
    );
    // `seed` beside a live owner uses the cluster and leaves it alone.
    seed(&data.0, &[]);
    assert!(
        process_runs(&postmaster),
        "seed stopped the server's cluster"
    );

    terminate(second);
    assert!(
        postmaster_pid(&data.0).is_none() && !process_runs(&postmaster),
        "the adopted PostgreSQL was left running"
    );
}

fn is_root() -> bool {
    std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0
}

/// As root, with the data directory inside a private one (a clone in `/root`, mode 700), the
/// `postgres` user cannot reach it: the cluster goes where it can, and the output says where.
#[test]
fn root_with_a_private_data_directory_keeps_the_cluster_where_postgres_can_reach_it() {
    if !is_root() {
        eprintln!("skipped: only root runs the cluster as another user");
        return;
    }
    let private = DataDir::new();
    std::fs::set_permissions(
        &private.0,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let data = private.0.join("data");
    let migrate = || {
        let output = beacon(&data)
            .env("RUST_BACKTRACE", "1")
            .arg("migrate")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        stderr
    };
    let stderr = migrate();
    let link = data.join("postgres");
    let cluster = std::fs::read_link(&link).expect("data/postgres links to the cluster");
    let place = cluster.parent().unwrap().to_path_buf();
    let _cleanup = Removed(place.clone());
    assert!(
        place.starts_with(tenant::embedded::location::FALLBACK_ROOT),
        "{}",
        place.display()
    );
    assert!(cluster.join("PG_VERSION").exists());
    assert!(
        stderr.contains(&*place.to_string_lossy()),
        "the output names the place: {stderr}"
    );
    // The next start finds it through the link.
    migrate();
    assert!(
        postmaster_pid(&place).is_none(),
        "migrate stops the cluster it started"
    );
}

/// Removes a directory when dropped.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A failure is one line, `error: …`, with no stack backtrace even when `RUST_BACKTRACE` is set.
#[test]
fn errors_are_one_line_without_a_backtrace() {
    let data = DataDir::new();
    let output = beacon(&data.0)
        .env("BEACON_PG_BIN", "/nonexistent/bin")
        .env("RUST_BACKTRACE", "1")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.starts_with('{'))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: BEACON_PG_BIN="), "{stderr}");
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
}

#[test]
fn a_stripe_key_without_a_webhook_secret_stops_serve_and_worker_before_anything_starts() {
    for command in ["serve", "worker"] {
        let data = DataDir::new();
        let output = beacon(&data.0)
            .env("BEACON_STRIPE_SECRET_KEY", "sk_test_x")
            .env_remove("BEACON_STRIPE_WEBHOOK_SECRET")
            .arg(command)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(
                "error: BEACON_STRIPE_SECRET_KEY is set but BEACON_STRIPE_WEBHOOK_SECRET is not"
            ),
            "{command}: {stderr}"
        );
        assert!(
            !data.0.join("postgres").exists(),
            "{command} started PostgreSQL before refusing"
        );
    }
}
