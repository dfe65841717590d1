//! A private PostgreSQL cluster under Beacon's data directory, for when no `DATABASE_URL` is
//! given: self-hosters get a working server with nothing else to run.
//!
//! The cluster is made with the system's `initdb` and run with `pg_ctl`. It listens on a unix
//! socket in the data directory and on no TCP port, so two Beacons never collide. If a cluster
//! is already running on the directory (a `beacon serve` killed with SIGKILL leaves its
//! postmaster behind; `beacon seed` runs beside `serve`), it is reused. Only its owner stops it
//! ([`owner`]): the process that started it, or the one that found it with its owner dead.
//! `beacon serve` also watches it and starts it again when it dies ([`supervise`]).
//!
//! PostgreSQL refuses to run as root; when Beacon runs as root the cluster runs as the
//! `postgres` system user that Debian's package creates, in a place that user can reach
//! ([`location`]).

pub mod location;
mod owner;
mod process;
pub mod supervise;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub use supervise::{ClusterHealth, Supervisor};

use owner::Owner;

/// Superuser created by `initdb`; migrations run as this role.
const SUPERUSER: &str = "beacon";
/// Socket path limit of unix domain sockets, minus the `.s.PGSQL.5432` file name.
const MAX_SOCKET_DIR_LEN: usize = 107 - 14;

/// How [`Cluster::start`] came by the running cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// This process started the postmaster.
    Started,
    /// A postmaster was running with its owner gone (a SIGKILLed `serve`): it is now this
    /// process's to stop.
    Adopted,
    /// Another live Beacon process owns the running postmaster; this one only uses it.
    Shared,
}

/// What [`Cluster::restart`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// The postmaster was started again.
    Started,
    /// A live postmaster was found (started by someone else meanwhile).
    AlreadyRunning,
    /// [`Cluster::stop`] was called: it must stay down.
    Stopping,
}

/// A running embedded cluster.
#[derive(Debug)]
pub struct Cluster {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    owner_file: PathBuf,
    run_as: Option<(u32, u32)>,
    durable: bool,
    relocated: Option<PathBuf>,
    origin: Origin,
    /// Set once [`Cluster::stop`] ran; held while starting or stopping so that a restart by the
    /// supervisor and a stop never interleave.
    stopped: Mutex<bool>,
}

impl Cluster {
    /// Starts (or finds running) the cluster under `data_dir`, creating it on first use.
    /// `durable: false` turns off fsync, for throwaway test clusters only.
    pub fn start(data_dir: &Path, durable: bool) -> anyhow::Result<Self> {
        let bin_dir = location::find_bin_dir()?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("resolving {}", data_dir.display()))?;
        let run_as = location::postgres_user_if_root()?;
        let place = location::choose(&data_dir, run_as, &bin_dir)?;
        if place.socket_dir.as_os_str().len() > MAX_SOCKET_DIR_LEN {
            bail!(
                "the data directory path {} is too long for a PostgreSQL unix socket; \
                 choose a shorter --data / BEACON_DATA",
                data_dir.display()
            );
        }
        for dir in [&place.pgdata, &place.socket_dir] {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            if let Some((uid, gid)) = run_as {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                    .with_context(|| format!("giving {} to the postgres user", dir.display()))?;
            }
        }
        let mut cluster = Self {
            bin_dir,
            pgdata: place.pgdata,
            socket_dir: place.socket_dir,
            owner_file: data_dir.join("postgres.owner"),
            run_as,
            durable,
            relocated: place.relocated,
            origin: Origin::Shared,
            stopped: Mutex::new(false),
        };
        if !cluster.pgdata.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        // A postmaster that was just killed still looks alive to `pg_ctl status` for a moment
        // (until it is reaped), so "running" must also mean "accepting connections".
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if !cluster.is_running()? || cluster.remove_stale_pid_file()? {
                cluster.pg_ctl_start()?;
                owner::claim(&cluster.owner_file)?;
                cluster.origin = Origin::Started;
                break;
            }
            if cluster.is_accepting()? {
                if owner::read(&cluster.owner_file) == Owner::Nobody {
                    owner::claim(&cluster.owner_file)?;
                    cluster.origin = Origin::Adopted;
                }
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "a PostgreSQL server is registered in {} but does not accept connections; \
                     stop it (pg_ctl stop -D {0}) and start Beacon again",
                    cluster.pgdata.display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(cluster)
    }

    /// Connection URL for `database` as the cluster's superuser, over the unix socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost/{database}?host={}",
            self.socket_dir.display()
        )
    }

    /// Creates the database `name` (a plain identifier) unless the cluster has it.
    pub async fn ensure_database(&self, name: &str) -> anyhow::Result<()> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

        #[derive(diesel::QueryableByName)]
        struct Found {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        anyhow::ensure!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "not a plain database name: {name:?}"
        );
        let mut conn = AsyncPgConnection::establish(&self.url("postgres"))
            .await
            .context("connecting to the embedded PostgreSQL")?;
        let found: Found = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
                .bind::<diesel::sql_types::Text, _>(name),
            &mut conn,
        )
        .await?;
        if found.n == 0 {
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .with_context(|| format!("creating the {name} database"))?;
        }
        Ok(())
    }

    /// How this process came by the running cluster.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Where the cluster lives when the `postgres` user could not reach the data directory
    /// (see [`location`]); `None` when it is in the data directory.
    pub fn relocated(&self) -> Option<&Path> {
        self.relocated.as_deref()
    }

    /// Whether the postmaster process runs (a cheap check of its pid: no process is started).
    pub fn postmaster_alive(&self) -> bool {
        self.postmaster_pid().is_some_and(process::is_live_postgres)
    }

    /// Starts the postmaster again after it died, unless [`Cluster::stop`] was called or one
    /// runs already. The restarted cluster belongs to this process.
    pub fn restart(&self) -> anyhow::Result<Restart> {
        let stopped = self
            .stopped
            .lock()
            .map_err(|_| anyhow::anyhow!("cluster lock poisoned"))?;
        if *stopped {
            return Ok(Restart::Stopping);
        }
        if self.postmaster_alive() {
            return Ok(Restart::AlreadyRunning);
        }
        self.remove_stale_pid_file()?;
        self.pg_ctl_start()?;
        owner::claim(&self.owner_file)?;
        Ok(Restart::Started)
    }

    /// Stops the cluster if this process owns it ("fast" mode: running transactions are
    /// rolled back, committed data is safe). After this, [`Cluster::restart`] does nothing.
    pub fn stop(&self) -> anyhow::Result<()> {
        let mut stopped = self
            .stopped
            .lock()
            .map_err(|_| anyhow::anyhow!("cluster lock poisoned"))?;
        if *stopped {
            return Ok(());
        }
        *stopped = true;
        if owner::read(&self.owner_file) != Owner::Me || !self.postmaster_alive() {
            return Ok(());
        }
        let pgdata = self.pgdata.display().to_string();
        let output = self.run("pg_ctl", &["stop", "-D", &pgdata, "-m", "fast", "-w"])?;
        if !output.status.success() {
            bail!("pg_ctl stop failed: {}", stderr_of(&output));
        }
        owner::release(&self.owner_file);
        Ok(())
    }

    /// The pid in `postmaster.pid`, if any.
    fn postmaster_pid(&self) -> Option<u32> {
        first_line_pid(&self.pgdata.join("postmaster.pid"))
    }

    fn initdb(&self) -> anyhow::Result<()> {
        let pgdata = self.pgdata.display().to_string();
        let output = self.run(
            "initdb",
            &[
                "-D",
                &pgdata,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ],
        )?;
        if !output.status.success() {
            bail!("initdb failed: {}", stderr_of(&output));
        }
        Ok(())
    }

    fn is_running(&self) -> anyhow::Result<bool> {
        let pgdata = self.pgdata.display().to_string();
        let output = self.run("pg_ctl", &["status", "-D", &pgdata])?;
        // pg_ctl status: 0 running, 3 not running, 4 no accessible data directory.
        Ok(output.status.code() == Some(0))
    }

    /// After a crash, `postmaster.pid` may name a pid that is now another process, or the
    /// killed postmaster's zombie; `pg_ctl status` and PostgreSQL itself take either for a
    /// live server. If the pid is not a running postgres, the file is stale: remove it (and the
    /// socket's lock file, which names the same pid and is checked the same way) and report
    /// `true`.
    fn remove_stale_pid_file(&self) -> anyhow::Result<bool> {
        let Some(pid) = self.postmaster_pid() else {
            return Ok(false);
        };
        if process::is_live_postgres(pid) {
            return Ok(false);
        }
        let socket_lock = self.socket_dir.join(".s.PGSQL.5432.lock");
        if first_line_pid(&socket_lock).is_some_and(|locker| !process::is_live_postgres(locker)) {
            std::fs::remove_file(&socket_lock)
                .with_context(|| format!("removing stale {}", socket_lock.display()))?;
        }
        let pid_file = self.pgdata.join("postmaster.pid");
        std::fs::remove_file(&pid_file)
            .with_context(|| format!("removing stale {}", pid_file.display()))?;
        tracing::warn!("removed a stale postmaster.pid left by a crash");
        Ok(true)
    }

    fn is_accepting(&self) -> anyhow::Result<bool> {
        let socket_dir = self.socket_dir.display().to_string();
        let output = self.run("pg_isready", &["-q", "-h", &socket_dir, "-U", SUPERUSER])?;
        Ok(output.status.success())
    }

    fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let pgdata = self.pgdata.display().to_string();
        // Inside PGDATA: the only directory the postgres user is sure to own.
        let log = self.pgdata.join("server.log").display().to_string();
        // No TCP listener; socket readable by the owner only. Terse error logging keeps row
        // values (which DETAIL lines quote) out of the server log.
        let mut options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' \
             -c unix_socket_permissions=0700 -c log_error_verbosity=terse \
             -c log_min_error_statement=panic -c max_connections=200",
            self.socket_dir.display()
        );
        // Crash recovery first fsyncs every file of the cluster one by one (seconds, even for a
        // small one); one syncfs(2) of the file system is as safe here and much faster
        // (PostgreSQL 14 and later).
        let major: u32 = std::fs::read_to_string(self.pgdata.join("PG_VERSION"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        if major >= 14 {
            options.push_str(" -c recovery_init_sync_method=syncfs");
        }
        if !self.durable {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let output = self.run(
            "pg_ctl",
            &[
                "start", "-D", &pgdata, "-l", &log, "-w", "-t", "60", "-o", &options,
            ],
        )?;
        if !output.status.success() {
            let tail = std::fs::read_to_string(&log)
                .map(|text| text.lines().rev().take(5).collect::<Vec<_>>().join(" | "))
                .unwrap_or_default();
            bail!(
                "pg_ctl start failed: {} (server log {log}: {tail})",
                stderr_of(&output)
            );
        }
        Ok(())
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<Output> {
        let mut command = Command::new(self.bin_dir.join(program));
        command.args(args).env("LC_ALL", "C");
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid).current_dir(&self.pgdata);
        }
        command
            .output()
            .with_context(|| format!("running {program}"))
    }
}

impl Drop for Cluster {
    /// A cluster is stopped when its handle goes away, if this process owns it.
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "stopping the embedded PostgreSQL failed");
        }
    }
}

/// The pid on the first line of a PostgreSQL lock file.
fn first_line_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}
