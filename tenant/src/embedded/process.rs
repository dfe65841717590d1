//! What `/proc` says about a process: whether a pid is a live PostgreSQL, and a process
//! identity that survives pid reuse (pid plus start time).
//!
//! A postmaster killed with SIGKILL is not our child (`pg_ctl` daemonizes it), so it stays a
//! zombie until whoever adopted it reaps it; in a container that may be never. A zombie still
//! answers `kill(pid, 0)`, which is what `pg_ctl status` and PostgreSQL's own lock-file check
//! use, so Beacon reads the process state itself.

/// The fields of `/proc/<pid>/stat` Beacon needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stat {
    /// The command name (`comm`), at most 15 bytes.
    pub comm: String,
    /// The state letter: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub state: char,
    /// Start time in clock ticks after boot (field 22): with the pid, names one process.
    pub start_time: u64,
}

impl Stat {
    /// Whether the process still runs (is neither a zombie nor dead).
    pub fn is_running(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Reads `/proc/<pid>/stat`; `None` when there is no such process.
pub(super) fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Parses a stat line. The command name is in parentheses and may itself contain spaces and
/// parentheses, so the fields after it are found from the last `)`.
fn parse_stat(line: &str) -> Option<Stat> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let comm = line.get(open + 1..close)?.to_owned();
    let mut rest = line.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    // `rest` now starts at field 4 (ppid); the start time is field 22.
    let start_time = rest.nth(22 - 4)?.parse().ok()?;
    Some(Stat {
        comm,
        state,
        start_time,
    })
}

/// Whether `pid` is a running (not zombie) PostgreSQL server process.
pub(super) fn is_live_postgres(pid: u32) -> bool {
    stat(pid).is_some_and(|stat| {
        stat.is_running() && matches!(stat.comm.as_str(), "postgres" | "postmaster")
    })
}

/// This process's identity: `(pid, start time)`.
pub(super) fn me() -> Option<(u32, u64)> {
    let pid = std::process::id();
    Some((pid, stat(pid)?.start_time))
}

/// Whether the process `(pid, start_time)` still runs (the same process, not a reused pid).
pub(super) fn is_alive(pid: u32, start_time: u64) -> bool {
    stat(pid).is_some_and(|stat| stat.start_time == start_time && stat.is_running())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_name_with_spaces_and_parentheses() {
        let line = "4242 (post (gres) x) Z 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 12345 67 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.comm, "post (gres) x");
        assert_eq!(stat.state, 'Z');
        assert_eq!(stat.start_time, 987654);
        assert!(!stat.is_running());
    }

    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_not() {
        let (pid, start) = me().unwrap();
        assert!(is_alive(pid, start));
        assert!(!is_alive(pid, start + 1));
        assert!(!is_live_postgres(pid), "the test binary is not a postgres");
    }
}
