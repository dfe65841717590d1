//! Throttling of abusable account operations: failed logins (per client IP and per account),
//! sign-ups per IP, and e-mails sent per address.
//!
//! Fixed windows counted in memory, in a bounded cache. Keys that name a person (accounts,
//! addresses) are hashed by the caller, so the cache holds no address. Counts are per process: behind several replicas
//! the limits multiply, which docs/configuration.md states.

use std::time::{Duration, Instant};

use tenant::cache::BoundedCache;

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
/// Single sign-ins started per client IP (each stores a state for ten minutes).
pub const SSO_STARTS_PER_IP: Limit = Limit {
    name: "sso-start-ip",
    max: 60,
    window: Duration::from_secs(15 * 60),
};
/// SAML responses posted to ACSs per client IP (each is an XML signature check).
pub const SAML_RESPONSES_PER_IP: Limit = Limit {
    name: "saml-acs-ip",
    max: 120,
    window: Duration::from_secs(15 * 60),
};
/// Heatmap reports per project and client IP (a visitor sends one per pageview, and one
/// more each time they come back to the tab): past it, reports are refused with 429.
pub const HEATMAP_REPORTS_PER_IP: Limit = Limit {
    name: "heatmap-ip",
    max: 120,
    window: Duration::from_secs(60),
};
/// Verification or reset e-mails allowed per address.
pub const EMAILS_PER_ADDRESS: Limit = Limit {
    name: "mail-address",
    max: 3,
    window: Duration::from_secs(15 * 60),
};

/// Bytes the throttle's windows may hold: about 100,000 keys. Past that the least used windows
/// are forgotten, so a flood of made-up addresses cannot grow memory.
const THROTTLE_BYTES: u64 = 24 * 1024 * 1024;

/// One key's current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// The throttle.
pub struct Throttle {
    windows: BoundedCache<String, Window>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            windows: BoundedCache::new(THROTTLE_BYTES, |key, _| key.len()),
        }
    }
}

impl Throttle {
    /// Takes one of `key`'s events under `limit`, or `Err(seconds to wait)` when they are used
    /// up. Check and count are one atomic step, so concurrent requests cannot all pass a check
    /// made before any of them is counted.
    pub fn reserve(&self, limit: &Limit, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let wait = self
            .windows
            .update(
                format!("{}:{key}", limit.name),
                limit.window,
                |current| match current {
                    Some(window) if window.start + limit.window > now => {
                        if window.count >= limit.max {
                            let wait = (window.start + limit.window - now).as_secs().max(1);
                            (window, Some(wait))
                        } else {
                            let count = window.count + 1;
                            (Window { count, ..window }, None)
                        }
                    }
                    _ => (
                        Window {
                            start: now,
                            count: 1,
                        },
                        None,
                    ),
                },
            );
        wait.map_or(Ok(()), Err)
    }

    /// Gives back an event taken by [`Throttle::reserve`] that did not count after all (a login
    /// attempt that succeeded).
    pub fn release(&self, limit: &Limit, key: &str) {
        self.windows
            .update(format!("{}:{key}", limit.name), limit.window, |current| {
                let window = current.unwrap_or(Window {
                    start: Instant::now(),
                    count: 0,
                });
                let count = window.count.saturating_sub(1);
                (Window { count, ..window }, ())
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let throttle = Throttle::default();
        for _ in 0..LOGIN_FAILURES_PER_ACCOUNT.max {
            assert!(throttle.reserve(&LOGIN_FAILURES_PER_ACCOUNT, "x").is_ok());
        }
        let wait = throttle
            .reserve(&LOGIN_FAILURES_PER_ACCOUNT, "x")
            .unwrap_err();
        assert!(wait > 0 && wait <= LOGIN_FAILURES_PER_ACCOUNT.window.as_secs());
        assert!(throttle.reserve(&LOGIN_FAILURES_PER_ACCOUNT, "y").is_ok());
        assert!(
            throttle.reserve(&LOGIN_FAILURES_PER_IP, "x").is_ok(),
            "limits are separate"
        );
    }

    #[test]
    fn a_released_event_does_not_count() {
        let throttle = Throttle::default();
        for _ in 0..10 {
            throttle.reserve(&EMAILS_PER_ADDRESS, "a").unwrap();
            throttle.release(&EMAILS_PER_ADDRESS, "a");
        }
        for _ in 0..EMAILS_PER_ADDRESS.max {
            assert!(throttle.reserve(&EMAILS_PER_ADDRESS, "a").is_ok());
        }
        assert!(throttle.reserve(&EMAILS_PER_ADDRESS, "a").is_err());
    }

    #[test]
    fn concurrent_reservations_never_exceed_the_limit() {
        let throttle = std::sync::Arc::new(Throttle::default());
        let granted = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (throttle, granted) = (throttle.clone(), granted.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        if throttle
                            .reserve(&LOGIN_FAILURES_PER_ACCOUNT, "race")
                            .is_ok()
                        {
                            granted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(
            granted.load(std::sync::atomic::Ordering::SeqCst),
            LOGIN_FAILURES_PER_ACCOUNT.max
        );
    }
}
