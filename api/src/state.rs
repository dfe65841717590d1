//! Shared application state, attached to every request.

use std::net::IpAddr;
use std::sync::Arc;

use tenant::{Clock, Db};

use crate::auth::throttle::Throttle;
use crate::metrics::Metrics;
use tenant::ingest::Ingest;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Application-role pool.
    pub db: Db,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Throttling of logins, sign-ups and e-mails.
    pub throttle: Arc<Throttle>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// Force `Secure` on cookies.
    pub secure_cookies: bool,
    /// Ingestion (its own role's pool, caches and writer).
    pub ingest: Arc<Ingest>,
    /// Instance operators (lower-cased e-mails).
    pub admin_emails: Arc<Vec<String>>,
    /// "Now" for the stats' relative dates, realtime and ingest time stamps (tests set it).
    pub clock: Clock,
}
