//! Shared application state, attached to every request, and the one place it is assembled
//! from the settings (`beacon serve` and the test harness both call [`AppState::assemble`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use billing::Billing;
use tenant::audit::checkpoint::CheckpointKey;
use tenant::errors::writer::ErrorWriter;
use tenant::ingest::Ingest;
use tenant::ingest::enrich::AgentCache;
use tenant::ingest::geo::Geo;
use tenant::ingest::quota::QuotaGate;
use tenant::ingest::referrers::ReferrerList;
use tenant::ingest::router::Router;
use tenant::ingest::writer::Writer;
use tenant::sealed::SealingKey;
use tenant::{Clock, Db};

use crate::auth::password_hashing::{PasswordHashing, default_concurrency};
use crate::auth::throttle::Throttle;
use crate::config::ServerArgs;
use crate::health::Health;
use crate::metrics::{Metrics, MetricsToken};

/// How long a call to an identity provider may take.
pub const OUTBOUND_TIMEOUT: Duration = Duration::from_secs(10);

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Application-role pool.
    pub db: Db,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Throttling of logins, sign-ups and e-mails.
    pub throttle: Arc<Throttle>,
    /// The bound on concurrent password hashing.
    pub password_hashing: Arc<PasswordHashing>,
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
    /// Plans, entitlements and Stripe (disabled without a Stripe key).
    pub billing: Arc<Billing>,
    /// Base URL of the web app (`BEACON_PUBLIC_URL`, or the listen address), where Stripe sends
    /// the browser back after Checkout; none: taken from the request's `Origin`.
    pub public_url: Option<String>,
    /// Where organization exports are written by the workers and read for download
    /// (`<data>/exports`; a scratch directory until the data directory is known).
    pub exports_dir: std::path::PathBuf,
    /// Looks up the DNS TXT proofs of organizations' domains (`BEACON_DNS_SERVER`).
    pub dns: worker::dns::TxtChecker,
    /// Signs and checks audit checkpoints (`BEACON_AUDIT_KEY`); none: checkpoints unchecked.
    pub audit_key: Option<CheckpointKey>,
    /// Seals and opens stored secrets such as SSO client secrets (`BEACON_SECRET_KEY`, or
    /// `<data>/secret.key`; a key of this process alone until the data directory is known).
    pub sealing_key: Arc<SealingKey>,
    /// HTTP to addresses organizations give Beacon (identity providers): no redirects, public
    /// addresses only unless `BEACON_ALLOW_PRIVATE_OUTBOUND`.
    pub outbound: worker::outbound::Outbound,
    /// The AI endpoint of AI insights (`BEACON_AI_*`); none: no AI.
    pub ai: Option<worker::ai::Ai>,
    /// Where session replay chunk bodies are kept.
    pub blobs: tenant::replay::store::BlobStore,
}

/// Ingestion for `server`'s settings, over `ingest_db` (an ingest-role pool; error events are
/// recorded through `db`, the application-role pool): the writers, the router, the GeoIP database and referrer list named (or their defaults), and the quota gate
/// (refreshed only when `billing` is on: without billing nothing is ever over quota).
pub fn ingest(
    db: &Db,
    ingest_db: Db,
    server: &ServerArgs,
    billing: bool,
) -> anyhow::Result<Ingest> {
    Ok(Ingest {
        writer: Writer::start(&ingest_db, server.writer())?,
        errors: ErrorWriter::start(db, server.writer())?,
        quotas: if billing {
            QuotaGate::start(ingest_db.clone())
        } else {
            Default::default()
        },
        router: Router::new(ingest_db),
        agents: AgentCache::default(),
        geo: match &server.geoip_db {
            Some(path) => Geo::open(path)?,
            None => {
                tracing::warn!("{}", crate::health::NO_GEOIP);
                Geo::none()
            }
        },
        referrers: match &server.referrer_list {
            Some(path) => ReferrerList::open(path)?,
            None => ReferrerList::built_in()?,
        },
        source_maps: Default::default(),
    })
}

impl AppState {
    /// The state for `server`'s settings: `db` is the application-role pool, `ingest_db` the
    /// ingest-role pool. Fails when the GeoIP database or referrer list named cannot be read.
    pub fn assemble(
        db: Db,
        ingest_db: Db,
        server: &ServerArgs,
        health: Health,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let billing = Arc::new(Billing::new(&server.billing.config())?);
        let ingest = Arc::new(ingest(&db, ingest_db, server, billing.is_enabled())?);
        Ok(Self {
            ingest,
            db,
            metrics: Arc::new(Metrics::new()?),
            throttle: Arc::new(Throttle::default()),
            password_hashing: Arc::new(PasswordHashing::new(
                server
                    .password_hash_concurrency
                    .unwrap_or_else(default_concurrency),
                server.password_hash_queue,
                Duration::from_millis(server.password_hash_wait_ms),
            )),
            trusted_proxies: Arc::new(server.trusted_proxies.clone()),
            secure_cookies: server.secure_cookies,
            metrics_token: server.metrics_token.as_deref().and_then(MetricsToken::new),
            admin_emails: Arc::new(
                server
                    .admin_emails
                    .iter()
                    .map(|email| email.trim().to_lowercase())
                    .filter(|email| !email.is_empty())
                    .collect(),
            ),
            health,
            clock,
            billing,
            public_url: None,
            exports_dir: std::env::temp_dir().join("beacon-exports"),
            dns: worker::dns::TxtChecker::new(None)?,
            audit_key: crate::config::audit_key(server.audit_key.as_deref())?,
            sealing_key: Arc::new(
                match crate::config::secret_key(server.secret_key.as_deref())? {
                    Some(key) => key,
                    None => SealingKey::generate().0,
                },
            ),
            outbound: worker::outbound::Outbound::new(None, false, OUTBOUND_TIMEOUT)?,
            ai: None,
            blobs: tenant::replay::store::BlobStore::default(),
        })
    }
}

impl AppState {
    /// Where the browser comes back to Beacon: the configured public URL, else the request's
    /// `Origin`, else its `Host` (over TLS when the request was). Used for Stripe's return
    /// pages and identity providers' redirects.
    pub fn app_url(&self, req: &poem::Request) -> crate::error::ApiResult<String> {
        if let Some(url) = &self.public_url {
            return Ok(url.clone());
        }
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|value: &poem::http::HeaderValue| value.to_str().ok())
        };
        if let Some(origin) = header(poem::http::header::ORIGIN)
            .filter(|origin| url::Url::parse(origin).is_ok_and(|url| url.has_host()))
        {
            return Ok(origin.trim_end_matches('/').to_string());
        }
        let scheme = if crate::auth::session_cookie::is_tls(req, self.secure_cookies) {
            "https"
        } else {
            "http"
        };
        header(poem::http::header::HOST)
            .map(|host| format!("{scheme}://{host}"))
            .filter(|url| url::Url::parse(url).is_ok_and(|url| url.has_host()))
            .ok_or_else(|| {
                crate::error::ApiError::bad_request(
                    tenant::problem::ProblemKind::InvalidRequest,
                    "send an Origin or Host header (or set BEACON_PUBLIC_URL) so Beacon knows \
                     where to send the browser back",
                )
            })
    }
}
