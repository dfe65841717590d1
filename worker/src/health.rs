//! The job workers' health, for `/readyz` and `/metrics`: a worker that lost its database says
//! so while it reconnects, instead of being silently gone.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// What the workers of this process are doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// Not yet registered with the queue.
    Starting,
    /// Registered, taking jobs.
    Running,
    /// Lost the database; waiting for it to answer, then starting again.
    Reconnecting,
    /// Shut down.
    Stopped,
}

/// Shared between the runner, which updates it, and whoever reports it.
#[derive(Debug)]
pub struct WorkerHealth {
    state: Mutex<(WorkerState, SystemTime)>,
    restarts: AtomicU64,
}

impl Default for WorkerHealth {
    fn default() -> Self {
        Self {
            state: Mutex::new((WorkerState::Starting, SystemTime::now())),
            restarts: AtomicU64::new(0),
        }
    }
}

impl WorkerHealth {
    /// The current state and since when.
    pub fn state(&self) -> (WorkerState, SystemTime) {
        self.state
            .lock()
            .map(|state| *state)
            .unwrap_or((WorkerState::Reconnecting, SystemTime::UNIX_EPOCH))
    }

    /// Whether the workers take jobs.
    pub fn is_running(&self) -> bool {
        self.state().0 == WorkerState::Running
    }

    /// How often the workers were started again after losing the database.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub(crate) fn set(&self, new: WorkerState) {
        if let Ok(mut state) = self.state.lock()
            && state.0 != new
        {
            *state = (new, SystemTime::now());
        }
    }

    pub(crate) fn count_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }
}
