//! Beacon's billing: the plans and what they grant ([`plans`]), the one [`Entitlements`] value
//! every gate reads, Stripe (Checkout, Customer Portal, subscriptions, invoices, meter events;
//! [`stripe`]), webhooks ([`webhook`], [`sync`]) and usage against quotas ([`metering`]).
//!
//! Without a Stripe key (self-hosting) there is no billing at all: every organization is on the
//! self-hosted plan, unlimited, and nothing here calls out. This crate knows the domain crate
//! and Stripe, never HTTP: the API and the worker adapt it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use tenant::cache::BoundedCache;
use tenant::tables::billing::{self as rows, OrgBilling};
use tenant::{DbError, OrgId};

pub mod entitlements;
pub mod gates;
pub mod metering;
pub mod plans;
pub mod stripe;
pub mod sync;
pub mod webhook;

pub use entitlements::{Entitlements, Limit, Refusal};
pub use plans::{Feature, Interval, PlanId};

/// Billing settings (`BEACON_STRIPE_*`).
#[derive(Debug, Clone, Default)]
pub struct BillingConfig {
    /// Stripe secret key; none: self-hosted, no billing.
    pub secret_key: Option<String>,
    /// Webhook signing secrets (two during a rotation).
    pub webhook_secrets: Vec<String>,
    /// Stripe's API base URL (tests point it at a fake).
    pub api_base: Option<String>,
}

impl BillingConfig {
    /// Refuses settings that cannot work: a secret key without a webhook secret (the
    /// subscription would never follow Stripe). Checked before anything starts.
    pub fn check(&self) -> anyhow::Result<()> {
        let keyed = self
            .secret_key
            .as_deref()
            .is_some_and(|key| !key.is_empty());
        if keyed && self.webhook_secrets.is_empty() {
            anyhow::bail!(
                "BEACON_STRIPE_SECRET_KEY is set but BEACON_STRIPE_WEBHOOK_SECRET is not: set the \
                 webhook endpoint's signing secret (whsec_…) too"
            );
        }
        Ok(())
    }
}

/// How long an organization's subscription row is remembered before it is read again (a
/// webhook that changes it forgets it at once in this process).
const ROW_TTL: Duration = Duration::from_secs(30);

/// Memory for remembered subscription rows.
const ROW_CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// Billing for one process: the Stripe client (when configured) and the remembered rows.
pub struct Billing {
    stripe: Option<stripe::Stripe>,
    webhook_secrets: Vec<String>,
    rows: BoundedCache<OrgId, Option<Arc<OrgBilling>>>,
}

impl Billing {
    /// Billing as configured. Fails when a secret key is given without a webhook secret (the
    /// subscription would never follow Stripe) or the client cannot be built.
    pub fn new(config: &BillingConfig) -> anyhow::Result<Self> {
        config.check()?;
        let stripe = match config.secret_key.as_deref().filter(|key| !key.is_empty()) {
            None => None,
            Some(key) => Some(stripe::Stripe::new(key, config.api_base.as_deref())?),
        };
        Ok(Self {
            stripe,
            webhook_secrets: config.webhook_secrets.clone(),
            rows: BoundedCache::new(ROW_CACHE_BYTES, |_, row| {
                row.as_ref().map_or(0, |row| {
                    row.plan.len()
                        + row.status.len()
                        + row.stripe_customer_id.as_ref().map_or(0, String::len)
                        + row.stripe_subscription_id.as_ref().map_or(0, String::len)
                })
            }),
        })
    }

    /// No billing (self-hosted).
    pub fn disabled() -> Self {
        Self {
            stripe: None,
            webhook_secrets: Vec::new(),
            rows: BoundedCache::new(ROW_CACHE_BYTES, |_, _| 0),
        }
    }

    /// Whether Stripe is configured.
    pub fn is_enabled(&self) -> bool {
        self.stripe.is_some()
    }

    /// The Stripe client, when configured.
    pub fn stripe(&self) -> Option<&stripe::Stripe> {
        self.stripe.as_ref()
    }

    /// The webhook signing secrets.
    pub fn webhook_secrets(&self) -> &[String] {
        &self.webhook_secrets
    }

    /// The organization's entitlements at `now`, read on `conn` (in its scope) unless
    /// remembered.
    pub async fn entitlements(
        &self,
        conn: &mut AsyncPgConnection,
        org: OrgId,
        now: DateTime<Utc>,
    ) -> Result<Entitlements, DbError> {
        if !self.is_enabled() {
            return Ok(Entitlements::self_hosted());
        }
        let row = match self.rows.get(&org) {
            Some(row) => row,
            None => {
                let row = rows::get(conn, org, false).await?.map(Arc::new);
                self.rows.insert(org, row.clone(), ROW_TTL);
                row
            }
        };
        Ok(Entitlements::from_billing(row.as_deref(), now))
    }

    /// Forgets the remembered row of `org` (after this process changed it).
    pub fn forget(&self, org: OrgId) {
        self.rows.invalidate(&org);
    }
}

/// An e-mail for the organization's owners that billing decided to send (already claimed:
/// each kind goes out once per billing period). The caller enqueues it in the same
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `payment_failed`, `trial_will_end`, `quota_80:<product>` or `quota_100:<product>`.
    pub kind: String,
}
