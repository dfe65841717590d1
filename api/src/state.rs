//! Shared application state, attached to every request.

use std::sync::Arc;

use tenant::Db;

use crate::auth::throttle::LoginThrottle;
use crate::metrics::Metrics;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Application-role pool.
    pub db: Db,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Login throttling.
    pub throttle: Arc<LoginThrottle>,
    /// Force `Secure` on cookies.
    pub secure_cookies: bool,
    /// Instance operators (lower-cased e-mails).
    pub admin_emails: Arc<Vec<String>>,
}
