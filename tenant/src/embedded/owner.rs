//! Who owns the embedded cluster, i.e. who stops it: the Beacon process that started it, or the
//! one that found it orphaned.
//!
//! `postgres.owner` in the data directory names the owner as `<pid> <start time>` (the start
//! time tells a live owner from a reused pid). A `beacon seed` run beside a `serve` finds a
//! live owner and leaves the cluster alone; a `serve` started after the previous one was
//! SIGKILLed finds a dead owner, takes the cluster over, and so stops it on its own graceful
//! shutdown instead of leaving it running.

use std::path::Path;

use anyhow::Context;

use super::process;

/// Who owns the cluster, as read from the owner file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// This process.
    Me,
    /// Another process that still runs.
    Other,
    /// Nobody alive: no file, an unreadable one, or a process that is gone.
    Nobody,
}

/// Reads the owner of the cluster recorded at `path`.
pub(super) fn read(path: &Path) -> Owner {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Owner::Nobody;
    };
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(pid)), Some(Ok(start_time))) = (fields.next(), fields.next()) else {
        return Owner::Nobody;
    };
    let Ok(pid) = u32::try_from(pid) else {
        return Owner::Nobody;
    };
    if process::me() == Some((pid, start_time)) {
        Owner::Me
    } else if process::is_alive(pid, start_time) {
        Owner::Other
    } else {
        Owner::Nobody
    }
}

/// Records this process as the owner (written to a temporary file, then renamed into place).
pub(super) fn claim(path: &Path) -> anyhow::Result<()> {
    let (pid, start_time) = process::me().context("reading this process's start time")?;
    let temporary = path.with_extension("owner.tmp");
    std::fs::write(&temporary, format!("{pid} {start_time}\n"))
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

/// Forgets the owner (after a clean stop), if it is this process.
pub(super) fn release(path: &Path) {
    if read(path) == Owner::Me {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn claims_reads_and_releases() {
        let dir = std::env::temp_dir().join(format!("beacon-owner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("postgres.owner");
        assert_eq!(read(&path), Owner::Nobody, "no file");
        claim(&path).unwrap();
        assert_eq!(read(&path), Owner::Me);
        // pid 1 runs, but not since the start time written here: a reused pid is nobody.
        std::fs::write(&path, format!("1 {}\n", u64::MAX)).unwrap();
        assert_eq!(read(&path), Owner::Nobody);
        let init = process::stat(1).unwrap();
        std::fs::write(&path, format!("1 {}\n", init.start_time)).unwrap();
        assert_eq!(
            read(&path),
            Owner::Other,
            "a live process that is not this one"
        );
        release(&path);
        assert!(path.exists(), "only the owner releases");
        claim(&path).unwrap();
        release(&path);
        assert!(!path.exists());
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(read(&path), Owner::Nobody);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
