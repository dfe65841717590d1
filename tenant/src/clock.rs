//! Where "now" comes from.
//!
//! Code whose answer depends on the current time (which day is "today" in a time zone, the
//! realtime window, the rollup watermark, salt rotation, retention, the time stamped on an
//! ingested event) takes `now` from a [`Clock`] handed down in the API's state or the jobs'
//! context, not from `Utc::now()` or the database's `now()`. Production uses the system clock;
//! a test sets the clock, so its outcome cannot depend on the time of day it runs at, and it
//! can jump hours or days ahead to see a salt rotate or a retention pass.
//!
//! What still reads another clock (session and token expiry, the error sparkline's days, the
//! `updated_at` columns) is listed in docs/architecture.md.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// A clock: the system's, or one a test sets ([`Clock::settable`]). Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// For a settable clock, the time it was set to (`None`: not set yet, the system time).
    setting: Option<Arc<Mutex<Option<DateTime<Utc>>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads the system time until [`Clock::set`] fixes it, for tests.
    pub fn settable() -> Self {
        Self {
            setting: Some(Arc::new(Mutex::new(None))),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.setting
            .as_ref()
            .and_then(|setting| *setting.lock().unwrap_or_else(PoisonError::into_inner))
            .unwrap_or_else(Utc::now)
    }

    /// Stops a settable clock at `at` (for every clone); returns false, changing nothing, on
    /// the system clock.
    #[must_use]
    pub fn set(&self, at: DateTime<Utc>) -> bool {
        match &self.setting {
            Some(setting) => {
                *setting.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
                true
            }
            None => false,
        }
    }

    /// Moves a settable clock `by` from where it stands (stopping it there); false on the
    /// system clock.
    #[must_use]
    pub fn advance(&self, by: Duration) -> bool {
        let now = self.now();
        self.set(now + by)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_settable_clock_stops_where_set_and_clones_share_it() {
        let clock = Clock::settable();
        let copy = clock.clone();
        let before = Utc::now();
        assert!(copy.now() >= before, "unset, it reads the system time");
        let at = Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap();
        assert!(clock.set(at));
        assert_eq!(copy.now(), at);
        assert!(copy.advance(Duration::hours(49)));
        assert_eq!(clock.now(), at + Duration::hours(49));
    }

    #[test]
    fn the_system_clock_cannot_be_set() {
        let clock = Clock::system();
        let at = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        assert!(!clock.set(at));
        assert!(!clock.advance(Duration::days(1)));
        assert!(clock.now() > at);
    }
}
