//! Hourly: counts what every organization stored per billed product and day (the last three
//! UTC days, so a worker outage of up to two days loses no count), settles each organization's
//! quotas (the grace period, the block, the 80% and 100% e-mails) and reports finished days to
//! Stripe as meter events whose identifier (organization, product, day) makes a re-run never
//! bill twice. Does nothing without billing. Counting sweeps all tenants as `beacon_sweeper`;
//! the rest runs in each organization's scope.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tenant::tables::billing as rows;
use tenant::tables::organizations;
use tenant::tables::usage::{self, Product};
use tenant::{DbError, OrgId};

use super::{JobContext, SendBillingNotice};

/// Days counted again on every run (today and the two before).
pub const RECOUNT_DAYS: i64 = 3;

/// Payload (no ids: it covers every tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterUsageAllTenants {}

impl MeterUsageAllTenants {
    /// Counts, settles and reports; an organization whose step fails is logged and retried on
    /// the next run, the others go on.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        if !ctx.billing.is_enabled() {
            return Ok(());
        }
        let now = ctx.clock.now();
        let orgs = count_all(&ctx.sweeper, now).await?;
        let mut failed = 0;
        for org in orgs {
            if let Err(error) = settle_and_report(ctx, org, now).await {
                failed += 1;
                tracing::warn!(org_id = %org, error = %error, "metering an organization failed; retried next run");
            }
        }
        if failed > 0 {
            tracing::warn!(failed, "some organizations were not metered");
        }
        Ok(())
    }
}

/// Counts the last [`RECOUNT_DAYS`] days for every organization; answers the organizations with
/// usage in the last 40 days (every one whose current period can hold usage).
pub async fn count_all(sweeper: &tenant::Db, now: DateTime<Utc>) -> anyhow::Result<Vec<OrgId>> {
    let today = now.date_naive();
    for back in 0..RECOUNT_DAYS {
        let day = today - Duration::days(back);
        sweeper
            .unscoped(async |conn| Ok::<_, DbError>(usage::count_day(conn, day).await?))
            .await?;
    }
    Ok(sweeper
        .unscoped(async |conn| {
            Ok::<_, DbError>(usage::orgs_with_usage_since(conn, today - Duration::days(40)).await?)
        })
        .await?)
}

/// Settles `org`'s quotas and reports its finished days to Stripe.
pub async fn settle_and_report(
    ctx: &JobContext,
    org: OrgId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let billing = ctx.billing.clone();
    let settled = ctx
        .db
        .scoped(org, async |conn| {
            if organizations::get(conn, org).await?.is_none() {
                return Ok::<_, DbError>(None);
            }
            let entitlements = billing.entitlements(conn, org, now).await?;
            let notices = billing::metering::settle(conn, org, &entitlements, now).await?;
            SendBillingNotice::enqueue_all(conn, org, notices).await?;
            let customer = rows::customer_id(conn, org).await?;
            let due = billing::metering::due_reports(conn, org, now).await?;
            Ok(Some((customer, due)))
        })
        .await?;
    let (Some((Some(customer), due)), Some(stripe)) = (settled, ctx.billing.stripe()) else {
        return Ok(());
    };
    for day in due {
        let Some(product) = Product::parse(&day.product) else {
            continue;
        };
        let identifier = billing::metering::identifier(org, &day.product, day.day);
        stripe
            .meter_event(billing::stripe::MeterEvent {
                event_name: billing::metering::meter_event_name(product),
                customer: &customer,
                value: day.quantity,
                identifier: &identifier,
                timestamp: day
                    .day
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp(),
            })
            .await?;
        ctx.db
            .scoped(org, async |conn| {
                Ok::<_, DbError>(usage::mark_reported(conn, org, &day.product, day.day, now).await?)
            })
            .await?;
    }
    Ok(())
}
