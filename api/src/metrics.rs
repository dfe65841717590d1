//! Prometheus metrics. Routes are labelled by OpenAPI operation id, never by raw path, so
//! label values stay few and carry no ids or personal data.
//!
//! `/metrics` is open by default (most deployments scrape it on a private network), or
//! behind a bearer token when `BEACON_METRICS_TOKEN` is set ([`MetricsToken`]).

use poem::Request;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use tenant::PoolStatus;
use tenant::secrets::token_hash;

/// What became of a Stripe webhook event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Its subscription was read again and stored.
    Applied,
    /// Applied before (a redelivery).
    Duplicate,
    /// A type Beacon does not act on.
    Ignored,
    /// No Beacon organization is named by it (or it names another customer).
    Unmatched,
    /// Its signature did not verify.
    Refused,
}

impl WebhookOutcome {
    /// Its name in the metric and in the webhook's answer.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Unmatched => "unmatched",
            Self::Refused => "refused",
        }
    }
}

/// The bearer token `/metrics` requires. Kept as its SHA-256, so the state holds no secret
/// and comparing takes the same time however much of a guess is right.
#[derive(Clone)]
pub struct MetricsToken(Vec<u8>);

impl MetricsToken {
    /// The token; `None` when it is empty (that is, unset).
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty()).then(|| Self(token_hash(token)))
    }

    /// Whether `req` sends the token as `Authorization: Bearer <token>`.
    pub fn admits(&self, req: &Request) -> bool {
        req.headers()
            .get(poem::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| token_hash(token.trim()) == self.0)
    }
}

use crate::health::Health;

/// An up gauge and a restart counter of a part this process may or may not run (the job
/// workers, the embedded PostgreSQL). Kept in a registry of its own that is only exported
/// when the part runs here, so that a Beacon with `DATABASE_URL` does not report a cluster
/// that is "down".
struct Part {
    registry: Registry,
    up: IntGauge,
    restarts: IntCounter,
}

impl Part {
    fn new(prefix: &str, what: &str) -> anyhow::Result<Self> {
        let registry = Registry::new();
        let up = IntGauge::new(format!("{prefix}_up"), format!("1 while {what} runs."))?;
        let restarts = IntCounter::new(
            format!("{prefix}_restarts_total"),
            format!("Times {what} was started again after a failure."),
        )?;
        registry.register(Box::new(up.clone()))?;
        registry.register(Box::new(restarts.clone()))?;
        Ok(Self {
            registry,
            up,
            restarts,
        })
    }

    /// Sets the gauge and brings the counter up to `restarts` (it only ever grows).
    fn observe(&self, up: bool, restarts: u64) {
        self.up.set(i64::from(up));
        self.restarts
            .inc_by(restarts.saturating_sub(self.restarts.get()));
    }
}

/// The metrics of one process.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_size: IntGauge,
    pool_available: IntGauge,
    pool_max: IntGauge,
    job_queue_depth: IntGauge,
    ingest_queue_depth: IntGauge,
    envelope_items: IntCounterVec,
    stripe_webhooks: IntCounterVec,
    worker: Part,
    embedded_postgres: Part,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "beacon_http_requests_total",
                "HTTP requests by route and status.",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "beacon_http_request_duration_seconds",
                "HTTP request latency by route.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )?;
        let pool_size = IntGauge::new("beacon_db_pool_connections", "Open pool connections.")?;
        let pool_available =
            IntGauge::new("beacon_db_pool_idle_connections", "Idle pool connections.")?;
        let pool_max = IntGauge::new("beacon_db_pool_max_connections", "Pool size limit.")?;
        let job_queue_depth = IntGauge::new(
            "beacon_job_queue_depth",
            "Jobs waiting to run (with attempts left).",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_size.clone()))?;
        registry.register(Box::new(pool_available.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        let ingest_queue_depth = IntGauge::new(
            "beacon_ingest_queue_depth",
            "Event requests waiting for the group-commit writer.",
        )?;
        registry.register(Box::new(job_queue_depth.clone()))?;
        registry.register(Box::new(ingest_queue_depth.clone()))?;
        let envelope_items = IntCounterVec::new(
            Opts::new(
                "beacon_envelope_items_total",
                "Items of Sentry envelopes by type and outcome (stored, accepted, rate_limited).",
            ),
            &["type", "outcome"],
        )?;
        registry.register(Box::new(envelope_items.clone()))?;
        let stripe_webhooks = IntCounterVec::new(
            Opts::new(
                "beacon_stripe_webhooks_total",
                "Stripe webhook events by outcome (applied, duplicate, ignored, unmatched, \
                 refused).",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(stripe_webhooks.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool_size,
            pool_available,
            pool_max,
            job_queue_depth,
            ingest_queue_depth,
            envelope_items,
            stripe_webhooks,
            worker: Part::new("beacon_worker", "the in-process job worker")?,
            embedded_postgres: Part::new(
                "beacon_embedded_postgres",
                "Beacon's own PostgreSQL cluster",
            )?,
        })
    }

    /// Records one finished request.
    pub fn observe(&self, route: &str, method: &str, status: &str, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, status])
            .inc();
        self.latency.with_label_values(&[route]).observe(seconds);
    }

    /// Counts an envelope item. Types Beacon does not know are counted as `other`, so a
    /// client cannot grow the series without bound.
    pub fn envelope_item(&self, kind: &str, outcome: &str) {
        const KNOWN: [&str; 18] = [
            "event",
            "transaction",
            "session",
            "sessions",
            "client_report",
            "attachment",
            "user_report",
            "feedback",
            "profile",
            "profile_chunk",
            "replay_event",
            "replay_recording",
            "check_in",
            "span",
            "log",
            "metric",
            "trace_metric",
            "raw_security",
        ];
        let kind = if KNOWN.contains(&kind) { kind } else { "other" };
        self.envelope_items
            .with_label_values(&[kind, outcome])
            .inc();
    }

    /// Counts a Stripe webhook event by what became of it.
    pub fn stripe_webhook(&self, outcome: WebhookOutcome) {
        self.stripe_webhooks
            .with_label_values(&[outcome.as_str()])
            .inc();
    }

    /// The text exposition, with gauges refreshed.
    pub fn render(
        &self,
        pool: PoolStatus,
        queue_depth: Option<i64>,
        ingest_queued: usize,
        health: &Health,
    ) -> String {
        self.ingest_queue_depth.set(ingest_queued as i64);
        self.pool_size.set(pool.size as i64);
        self.pool_available.set(pool.available as i64);
        self.pool_max.set(pool.max_size as i64);
        if let Some(depth) = queue_depth {
            self.job_queue_depth.set(depth);
        }
        let mut families = self.registry.gather();
        if let Some(worker) = &health.worker {
            self.worker.observe(worker.is_running(), worker.restarts());
            families.extend(self.worker.registry.gather());
        }
        if let Some(cluster) = &health.embedded_postgres {
            self.embedded_postgres
                .observe(cluster.is_up(), cluster.restarts());
            families.extend(self.embedded_postgres.registry.gather());
        }
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(%error, "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
