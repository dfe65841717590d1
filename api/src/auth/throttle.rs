//! Login throttling, per client IP and per account.
//!
//! Fixed windows counted in memory: a client IP may try `IP_LIMIT` logins per window, and an
//! account may see `ACCOUNT_LIMIT` failed logins per window. Over either, login answers 429 with
//! `Retry-After` until the window ends. Accounts are keyed by a hash of the e-mail so the map
//! holds no address. Counts are per process: behind several replicas the limits multiply, which
//! is stated in docs/configuration.md.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Login attempts allowed per IP per window.
pub const IP_LIMIT: u32 = 20;
/// Failed logins allowed per account per window.
pub const ACCOUNT_LIMIT: u32 = 5;
/// Window length.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 50_000;

#[derive(Default)]
struct Windows {
    counts: HashMap<String, (Instant, u32)>,
}

impl Windows {
    /// Seconds until `key`'s window ends if it has reached `limit`.
    fn blocked_for(&self, key: &str, limit: u32, now: Instant) -> Option<u64> {
        let (start, count) = self.counts.get(key)?;
        let ends = *start + WINDOW;
        (count >= &limit && ends > now).then(|| (ends - now).as_secs().max(1))
    }

    fn bump(&mut self, key: String, now: Instant) {
        if self.counts.len() >= SWEEP_AT {
            self.counts.retain(|_, (start, _)| *start + WINDOW > now);
        }
        let entry = self.counts.entry(key).or_insert((now, 0));
        if entry.0 + WINDOW <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

/// The throttle.
#[derive(Default)]
pub struct LoginThrottle {
    windows: Mutex<Windows>,
}

impl LoginThrottle {
    /// Counts an attempt from `ip` for `account` (a hash); `Err(seconds)` when throttled.
    pub fn attempt(&self, ip: Option<IpAddr>, account: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(wait) = windows.blocked_for(&format!("a:{account}"), ACCOUNT_LIMIT, now) {
            return Err(wait);
        }
        if let Some(ip) = ip {
            let key = format!("ip:{ip}");
            if let Some(wait) = windows.blocked_for(&key, IP_LIMIT, now) {
                return Err(wait);
            }
            windows.bump(key, now);
        }
        Ok(())
    }

    /// Records a failed login for `account`.
    pub fn failed(&self, account: &str) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        windows.bump(format!("a:{account}"), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_blocks_after_failures() {
        let throttle = LoginThrottle::default();
        for _ in 0..ACCOUNT_LIMIT {
            assert!(throttle.attempt(None, "x").is_ok());
            throttle.failed("x");
        }
        let wait = throttle.attempt(None, "x").unwrap_err();
        assert!(wait > 0 && wait <= WINDOW.as_secs());
        assert!(throttle.attempt(None, "y").is_ok());
    }

    #[test]
    fn ip_blocks_after_attempts() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..IP_LIMIT {
            assert!(throttle.attempt(Some(ip), &format!("acct{i}")).is_ok());
        }
        assert!(throttle.attempt(Some(ip), "other").is_err());
    }
}
