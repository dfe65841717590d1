//! Usage against quotas: per product, what an organization stored this billing period, when it
//! went over, whether ingestion drops it now, and which threshold e-mails are due. Also which
//! finished days are reported to Stripe as meter events.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use tenant::tables::billing as rows;
use tenant::tables::usage::{self, DailyUsage, Product, QuotaState};
use tenant::{DbError, OrgId};

use crate::Notice;
use crate::entitlements::{Entitlements, QUOTA_GRACE};

/// A finished day is reported to Stripe once this long after its end (late commits settle).
pub const REPORT_AFTER: Duration = Duration::hours(1);

/// Stripe meter event name of each product (create the meters with these names).
pub fn meter_event_name(product: Product) -> &'static str {
    match product {
        Product::Events => "beacon_events",
        Product::Errors => "beacon_errors",
        Product::Replays => "beacon_replays",
    }
}

/// Where one product stands this period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductUsage {
    /// The product.
    pub product: Product,
    /// Stored this period.
    pub used: i64,
    /// The quota (none: unlimited).
    pub quota: Option<i64>,
    /// Refused this period because it was over quota.
    pub dropped: i64,
    /// Over quota since.
    pub over_since: Option<DateTime<Utc>>,
    /// New events are dropped now.
    pub blocked: bool,
    /// `used` extrapolated to the end of the period at this period's daily rate.
    pub projected: i64,
}

fn is_over(used: i64, quota: Option<i64>) -> bool {
    quota.is_some_and(|quota| used > 0 && used >= quota)
}

fn sums(rows: &[DailyUsage]) -> HashMap<Product, i64> {
    let mut sums = HashMap::new();
    for row in rows {
        if let Some(product) = Product::parse(&row.product) {
            *sums.entry(product).or_default() += row.quantity;
        }
    }
    sums
}

/// Recomputes the organization's quota states at `now` (in its scope) and answers the e-mails
/// now due (each claimed once per period). Over quota, a product keeps being stored for
/// [`QUOTA_GRACE`]; then it is blocked until the period ends or the plan grows.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    entitlements: &Entitlements,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>, DbError> {
    let (first, last) = entitlements.period_days(now);
    let used = sums(&usage::daily(conn, org, first, last).await?);
    let previous: HashMap<String, QuotaState> = usage::quota_states(conn, org)
        .await?
        .into_iter()
        .map(|state| (state.product.clone(), state))
        .collect();
    let mut notices = Vec::new();
    for product in Product::ALL {
        let used = used.get(&product).copied().unwrap_or(0);
        let quota = entitlements.grants.quota(product);
        let before = previous
            .get(product.as_str())
            .filter(|state| state.period_start == first);
        let over_since =
            is_over(used, quota).then(|| before.and_then(|state| state.over_since).unwrap_or(now));
        let blocked = over_since.is_some_and(|since| now - since >= QUOTA_GRACE);
        usage::save_quota_state(
            conn,
            &QuotaState {
                org_id: org,
                product: product.as_str().to_string(),
                period_start: first,
                used,
                quota,
                over_since,
                blocked,
            },
        )
        .await?;
        let Some(quota) = quota.filter(|quota| *quota > 0) else {
            continue;
        };
        let percent = used.saturating_mul(100) / quota;
        if percent >= 100 {
            // Straight past both thresholds: one e-mail, the one that matters.
            rows::claim_notice(conn, org, &format!("quota_80:{}", product.as_str()), first).await?;
            let kind = format!("quota_100:{}", product.as_str());
            if rows::claim_notice(conn, org, &kind, first).await? {
                notices.push(Notice { kind });
            }
        } else if percent >= 80 {
            let kind = format!("quota_80:{}", product.as_str());
            if rows::claim_notice(conn, org, &kind, first).await? {
                notices.push(Notice { kind });
            }
        }
    }
    Ok(notices)
}

/// Where each product stands this period, for the Billing page (from the last settled state,
/// plus drops, with a month-end projection).
pub async fn report(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    entitlements: &Entitlements,
    now: DateTime<Utc>,
) -> Result<Vec<ProductUsage>, DbError> {
    let (first, last) = entitlements.period_days(now);
    let used = sums(&usage::daily(conn, org, first, last).await?);
    let dropped = sums(&usage::dropped_since(conn, org, first).await?);
    let states: HashMap<String, QuotaState> = usage::quota_states(conn, org)
        .await?
        .into_iter()
        .filter(|state| state.period_start == first)
        .map(|state| (state.product.clone(), state))
        .collect();
    let days_total = (last - first).num_days() + 1;
    let days_gone = ((now.date_naive() - first).num_days() + 1).clamp(1, days_total);
    Ok(Product::ALL
        .into_iter()
        .map(|product| {
            let state = states.get(product.as_str());
            let used = used.get(&product).copied().unwrap_or(0);
            ProductUsage {
                product,
                used,
                quota: entitlements.grants.quota(product),
                dropped: dropped.get(&product).copied().unwrap_or(0),
                over_since: state.and_then(|state| state.over_since),
                blocked: state.is_some_and(|state| state.blocked),
                projected: used.saturating_mul(days_total) / days_gone,
            }
        })
        .collect())
}

/// The finished days not yet reported to Stripe at `now`.
pub async fn due_reports(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    now: DateTime<Utc>,
) -> Result<Vec<DailyUsage>, DbError> {
    let before: NaiveDate = (now - REPORT_AFTER).date_naive();
    Ok(usage::unreported(conn, org, before).await?)
}

/// The meter event identifier of one product's day: Stripe drops a repeat.
pub fn identifier(org: OrgId, product: &str, day: NaiveDate) -> String {
    format!("{org}:{product}:{day}")
}
