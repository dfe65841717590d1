//! Where the embedded cluster lives and which tools and user run it.
//!
//! Normally the cluster is `<data>/postgres` and its socket directory `<data>/run`. PostgreSQL
//! refuses to run as root, so a root Beacon runs it as the `postgres` system user, which must
//! be able to reach those directories. A data directory inside a private one (a clone in
//! `/root`, mode 700) is out of its reach: then the cluster is kept in
//! `/var/lib/beacon/<id>/` instead (`<id>`: a hash of the data directory's path), and
//! `<data>/postgres` and `<data>/run` are symbolic links to it, so the next start, `beacon
//! seed` and a person looking at the data directory all find it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// Where clusters go whose data directory the `postgres` user cannot reach.
pub const FALLBACK_ROOT: &str = "/var/lib/beacon";

/// The cluster's directories.
#[derive(Debug, Clone)]
pub(super) struct Place {
    /// The cluster (`PGDATA`).
    pub pgdata: PathBuf,
    /// The unix socket's directory.
    pub socket_dir: PathBuf,
    /// Set when the cluster lives outside the data directory, and where.
    pub relocated: Option<PathBuf>,
}

/// Chooses the cluster's place for the (canonical) `data_dir`, moving it to
/// [`FALLBACK_ROOT`] when `run_as` (the postgres user of a root Beacon) cannot reach it.
pub(super) fn choose(
    data_dir: &Path,
    run_as: Option<(u32, u32)>,
    bin_dir: &Path,
) -> anyhow::Result<Place> {
    let pgdata = data_dir.join("postgres");
    let socket_dir = data_dir.join("run");
    if pgdata.is_symlink() {
        // Placed elsewhere by an earlier start.
        let target = std::fs::read_link(&pgdata)
            .with_context(|| format!("reading the link {}", pgdata.display()))?;
        let base = target.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok(Place {
            socket_dir: base.join("run"),
            pgdata: target,
            relocated: Some(base),
        });
    }
    let Some(ids) = run_as else {
        return Ok(Place {
            pgdata,
            socket_dir,
            relocated: None,
        });
    };
    if reachable(data_dir, ids, bin_dir)? {
        return Ok(Place {
            pgdata,
            socket_dir,
            relocated: None,
        });
    }
    if pgdata.join("PG_VERSION").exists() {
        bail!(
            "the postgres user cannot reach the cluster in {}: make every parent directory \
             searchable by it (chmod o+x), or move the data directory (--data) somewhere it can reach",
            pgdata.display()
        );
    }
    let base = Path::new(FALLBACK_ROOT).join(id_of(data_dir));
    let unusable = |what: &str| {
        format!(
            "the postgres user cannot reach {} (a parent directory is private) and {what}; \
             choose a data directory it can reach, e.g. --data {FALLBACK_ROOT}/data",
            data_dir.display()
        )
    };
    std::fs::create_dir_all(&base)
        .with_context(|| unusable(&format!("{} could not be created", base.display())))?;
    if !reachable(&base, ids, bin_dir)? {
        bail!(unusable(&format!("cannot reach {} either", base.display())));
    }
    for (link, name) in [(&pgdata, "postgres"), (&socket_dir, "run")] {
        // A directory left by the failed first try of an older Beacon holds nothing yet.
        if link.is_dir() {
            std::fs::remove_dir(link)
                .with_context(|| unusable(&format!("{} is in the way", link.display())))?;
        }
        std::os::unix::fs::symlink(base.join(name), link)
            .with_context(|| format!("linking {} to {}", link.display(), base.display()))?;
    }
    Ok(Place {
        pgdata: base.join("postgres"),
        socket_dir: base.join("run"),
        relocated: Some(base),
    })
}

/// A short stable name for a data directory.
fn id_of(data_dir: &Path) -> String {
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    hex::encode(&digest[..6])
}

/// Whether the user `ids` can enter `dir`: the kernel's own answer, from starting a harmless
/// program (`pg_ctl --version`) as that user inside it.
fn reachable(dir: &Path, (uid, gid): (u32, u32), bin_dir: &Path) -> anyhow::Result<bool> {
    use std::os::unix::process::CommandExt;
    let result = std::process::Command::new(bin_dir.join("pg_ctl"))
        .arg("--version")
        .uid(uid)
        .gid(gid)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match result {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => Ok(false),
        Err(error) => {
            Err(error).context("checking that the postgres user can reach the data directory")
        }
    }
}

/// Finds `initdb`, `pg_ctl` and `pg_isready` together: `BEACON_PG_BIN`, then `PATH`, then
/// Debian's `/usr/lib/postgresql/<newest>/bin`.
pub(super) fn find_bin_dir() -> anyhow::Result<PathBuf> {
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
pub(super) fn postgres_user_if_root() -> anyhow::Result<Option<(u32, u32)>> {
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
