//! Throttling of abusable account operations: failed logins (per client IP and per account),
//! sign-ups per IP, and e-mails sent per address.
//!
//! Fixed windows counted in memory. Keys that name a person (accounts, addresses) are hashed by
//! the caller, so the map holds no address. Counts are per process: behind several replicas
//! the limits multiply, which docs/configuration.md states.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A limit: at most `max` events per `window` for one key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Namespace of the keys.
    pub name: &'static str,
    /// Events allowed per window.
    pub max: u32,
    /// Window length.
    pub window: Duration,
}

/// Failed logins allowed per client IP.
pub const LOGIN_FAILURES_PER_IP: Limit = Limit {
    name: "login-ip",
    max: 20,
    window: Duration::from_secs(15 * 60),
};
/// Failed logins allowed per account.
pub const LOGIN_FAILURES_PER_ACCOUNT: Limit = Limit {
    name: "login-account",
    max: 5,
    window: Duration::from_secs(15 * 60),
};
/// Sign-ups allowed per client IP.
pub const SIGNUPS_PER_IP: Limit = Limit {
    name: "signup-ip",
    max: 10,
    window: Duration::from_secs(60 * 60),
};
/// Verification or reset e-mails allowed per address.
pub const EMAILS_PER_ADDRESS: Limit = Limit {
    name: "mail-address",
    max: 3,
    window: Duration::from_secs(15 * 60),
};

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 50_000;

/// The throttle.
#[derive(Default)]
pub struct Throttle {
    counts: Mutex<HashMap<String, (Instant, Duration, u32)>>,
}

impl Throttle {
    fn with_counts<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, (Instant, Duration, u32)>) -> T,
    ) -> T {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        f(&mut counts)
    }

    /// `Err(seconds to wait)` when `key` has used up `limit`; counts nothing.
    pub fn check(&self, limit: &Limit, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        self.with_counts(
            |counts| match counts.get(&format!("{}:{key}", limit.name)) {
                Some((start, window, count)) if *count >= limit.max && *start + *window > now => {
                    Err((*start + *window - now).as_secs().max(1))
                }
                _ => Ok(()),
            },
        )
    }

    /// Counts one event for `key`.
    pub fn record(&self, limit: &Limit, key: &str) {
        let now = Instant::now();
        self.with_counts(|counts| {
            if counts.len() >= SWEEP_AT {
                counts.retain(|_, (start, window, _)| *start + *window > now);
            }
            let entry =
                counts
                    .entry(format!("{}:{key}", limit.name))
                    .or_insert((now, limit.window, 0));
            if entry.0 + entry.1 <= now {
                *entry = (now, limit.window, 0);
            }
            entry.2 += 1;
        });
    }

    /// Checks, then counts: for events limited whether or not they succeed.
    pub fn hit(&self, limit: &Limit, key: &str) -> Result<(), u64> {
        self.check(limit, key)?;
        self.record(limit, key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let throttle = Throttle::default();
        for _ in 0..LOGIN_FAILURES_PER_ACCOUNT.max {
            assert!(throttle.check(&LOGIN_FAILURES_PER_ACCOUNT, "x").is_ok());
            throttle.record(&LOGIN_FAILURES_PER_ACCOUNT, "x");
        }
        let wait = throttle
            .check(&LOGIN_FAILURES_PER_ACCOUNT, "x")
            .unwrap_err();
        assert!(wait > 0 && wait <= LOGIN_FAILURES_PER_ACCOUNT.window.as_secs());
        assert!(throttle.check(&LOGIN_FAILURES_PER_ACCOUNT, "y").is_ok());
        assert!(
            throttle.check(&LOGIN_FAILURES_PER_IP, "x").is_ok(),
            "limits are separate"
        );
    }

    #[test]
    fn hit_counts_every_event() {
        let throttle = Throttle::default();
        for _ in 0..EMAILS_PER_ADDRESS.max {
            assert!(throttle.hit(&EMAILS_PER_ADDRESS, "a").is_ok());
        }
        assert!(throttle.hit(&EMAILS_PER_ADDRESS, "a").is_err());
    }
}
