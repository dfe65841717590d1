//! Shared application state, attached to every request.

use std::net::IpAddr;
use std::sync::Arc;

use tenant::{Clock, Db};

use crate::auth::throttle::Throttle;
use crate::health::Health;
use crate::metrics::{Metrics, MetricsToken};
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
    /// The token `/metrics` requires, when one is set.
    pub metrics_token: Option<MetricsToken>,
    /// Instance operators (lower-cased e-mails).
    pub admin_emails: Arc<Vec<String>>,
    /// The job workers and embedded PostgreSQL of this process, for `/readyz` and `/metrics`.
    pub health: Health,
    /// "Now" for the stats' relative dates, realtime and ingest time stamps (tests set it).
    pub clock: Clock,
}
