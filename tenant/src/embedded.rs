//! A private PostgreSQL cluster under Beacon's data directory, for when no `DATABASE_URL` is
//! given: self-hosters get a working server with nothing else to run.
//!
//! The cluster is made with the system's `initdb` and run with `pg_ctl`. It listens on a unix
//! socket in the data directory and on no TCP port, so two Beacons never collide. If a cluster
//! is already running on the directory (a `beacon serve` killed with SIGKILL leaves its
//! postmaster behind; `beacon seed` runs beside `serve`), it is reused, and only a cluster this
//! process started is stopped by it. PostgreSQL itself clears a stale `postmaster.pid`.
//!
//! PostgreSQL refuses to run as root; when Beacon runs as root the cluster runs as the
//! `postgres` system user that Debian's package creates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};

/// Superuser created by `initdb`; migrations run as this role.
const SUPERUSER: &str = "beacon";
/// Socket path limit of unix domain sockets, minus the `.s.PGSQL.5432` file name.
const MAX_SOCKET_DIR_LEN: usize = 107 - 14;

/// A running embedded cluster.
#[derive(Debug)]
pub struct Cluster {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<(u32, u32)>,
    started_here: bool,
}

impl Cluster {
    /// Starts (or finds running) the cluster under `data_dir`, creating it on first use.
    /// `durable: false` turns off fsync, for throwaway test clusters only.
    pub fn start(data_dir: &Path, durable: bool) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir()?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("resolving {}", data_dir.display()))?;
        let pgdata = data_dir.join("postgres");
        let socket_dir = data_dir.join("run");
        if socket_dir.as_os_str().len() > MAX_SOCKET_DIR_LEN {
            bail!(
                "the data directory path {} is too long for a PostgreSQL unix socket; \
                 choose a shorter --data / BEACON_DATA",
                data_dir.display()
            );
        }
        let run_as = postgres_user_if_root()?;
        for dir in [&pgdata, &socket_dir] {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            if let Some((uid, gid)) = run_as {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                    .with_context(|| format!("giving {} to the postgres user", dir.display()))?;
            }
        }
        let mut cluster = Self {
            bin_dir,
            pgdata,
            socket_dir,
            run_as,
            started_here: false,
        };
        if !cluster.pgdata.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        // A postmaster that was just killed still looks alive to `pg_ctl status` for a moment
        // (until it is reaped), so "running" must also mean "accepting connections".
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if !cluster.is_running()? || cluster.remove_stale_pid_file()? {
                cluster.pg_ctl_start(durable)?;
                cluster.started_here = true;
                break;
            }
            if cluster.is_accepting()? {
                break;
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "a PostgreSQL server is registered in {} but does not accept connections; \
                     stop it (pg_ctl stop -D {0}) and start Beacon again",
                    cluster.pgdata.display()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
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

    /// Whether this process started the postmaster (and so should stop it).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// Stops the cluster if this process started it ("fast" mode: running transactions are
    /// rolled back, committed data is safe).
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if !self.started_here {
            return Ok(());
        }
        let pgdata = self.pgdata.display().to_string();
        let output = self.run("pg_ctl", &["stop", "-D", &pgdata, "-m", "fast", "-w"])?;
        if !output.status.success() {
            bail!("pg_ctl stop failed: {}", stderr_of(&output));
        }
        self.started_here = false;
        Ok(())
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

    /// After a crash, `postmaster.pid` may name a pid that now belongs to another process, which
    /// `pg_ctl status` takes for a live server. If that process is not a postgres, the file is
    /// stale: remove it and report `true`.
    fn remove_stale_pid_file(&self) -> anyhow::Result<bool> {
        let pid_file = self.pgdata.join("postmaster.pid");
        let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.lines().next().map(|line| line.trim().to_owned()))
        else {
            return Ok(false);
        };
        let command = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if matches!(command.trim(), "postgres" | "postmaster") {
            return Ok(false);
        }
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

    fn pg_ctl_start(&self, durable: bool) -> anyhow::Result<()> {
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
        if !durable {
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
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "stopping the embedded PostgreSQL failed");
        }
    }
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}

/// Finds `initdb`, `pg_ctl` and `pg_isready` together: `BEACON_PG_BIN`, then `PATH`, then Debian's
/// `/usr/lib/postgresql/<newest>/bin`.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let has_tools = |dir: &Path| {
        ["initdb", "pg_ctl", "pg_isready"]
            .iter()
            .all(|tool| dir.join(tool).is_file())
    };
    if let Some(dir) = std::env::var_os("BEACON_PG_BIN").map(PathBuf::from) {
        if has_tools(&dir) {
            return Ok(dir);
        }
        bail!(
            "BEACON_PG_BIN={} lacks initdb, pg_ctl or pg_isready. Install the PostgreSQL server \
             (Debian/Ubuntu: `apt-get install postgresql`) and point BEACON_PG_BIN at its bin \
             directory, or set DATABASE_URL",
            dir.display()
        );
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .collect();
        versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
        candidates.extend(versions.into_iter().map(|(_, dir)| dir));
    }
    candidates.into_iter().find(|dir| has_tools(dir)).context(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them \
         (Debian/Ubuntu: `apt-get install postgresql`), or set DATABASE_URL to use an existing server",
    )
}

/// When running as root, the uid and gid of the `postgres` user to run the cluster as.
fn postgres_user_if_root() -> anyhow::Result<Option<(u32, u32)>> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective uid.
    let is_root = std::fs::metadata("/proc/self")
        .map(|meta| meta.uid() == 0)
        .unwrap_or(false);
    if !is_root {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
                _ => None,
            }
        })
        .map(Some)
        .context(
            "PostgreSQL will not run as root and there is no `postgres` user to run it as. \
             Install the postgresql package (it creates one), run Beacon as another user, \
             or set DATABASE_URL",
        )
}
