//! Storing a subscription as Stripe has it now, for the organization it belongs to.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use tenant::OrgId;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::tables::billing::{self as rows, OrgBilling};

use crate::Notice;
use crate::plans::{self, PlanId};
use crate::stripe::Subscription;
use crate::webhook::Event;

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The event was applied before (a redelivery): nothing changed.
    Duplicate,
    /// The subscription belongs to another customer than the organization's: ignored.
    CustomerMismatch,
    /// An older subscription ended while a newer one is live: the newer one stays.
    Superseded,
    /// The state was stored.
    Saved {
        /// The row now.
        row: Box<OrgBilling>,
        /// An e-mail to send.
        notice: Option<Notice>,
    },
}

/// Whether Stripe still bills a subscription in `status`.
fn is_live(status: &str) -> bool {
    matches!(status, "trialing" | "active" | "past_due" | "unpaid")
}

fn time(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    seconds.and_then(|seconds| DateTime::from_timestamp(seconds, 0))
}

/// Applies `event` for `org` with `subscription` as just read from Stripe, in the
/// organization's scope (`conn`). Records the event id first, so a redelivery does nothing;
/// locks the organization's row, so concurrent webhooks apply one after the other.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    event: &Event,
    subscription: &Subscription,
    now: DateTime<Utc>,
) -> Result<Applied, tenant::DbError> {
    if !rows::record_event(conn, org, &event.id, &event.kind).await? {
        return Ok(Applied::Duplicate);
    }
    let current = rows::get(conn, org, true).await?;
    if let Some(current) = &current {
        if current
            .stripe_customer_id
            .as_deref()
            .is_some_and(|customer| customer != subscription.customer)
        {
            return Ok(Applied::CustomerMismatch);
        }
        if current
            .stripe_subscription_id
            .as_deref()
            .is_some_and(|id| id != subscription.id)
            && is_live(&current.status)
            && !is_live(&subscription.status)
        {
            return Ok(Applied::Superseded);
        }
    }
    let (plan, interval) = match subscription.lookup_key().and_then(plans::by_lookup_key) {
        Some((plan, interval)) => (plan.id, Some(interval.as_str().to_string())),
        None => {
            tracing::warn!(
                subscription = %subscription.id,
                "the subscription's price has no lookup key of a Beacon plan; stored as Free"
            );
            (PlanId::Free, None)
        }
    };
    let was_past_due = current.as_ref().is_some_and(|row| row.status == "past_due");
    let (period_start, period_end) = subscription.period();
    let row = OrgBilling {
        org_id: org,
        stripe_customer_id: Some(subscription.customer.clone()),
        stripe_subscription_id: Some(subscription.id.clone()),
        plan: plan.as_str().to_string(),
        billing_interval: interval,
        status: subscription.status.clone(),
        current_period_start: time(period_start),
        current_period_end: time(period_end),
        trial_end: time(subscription.trial_end),
        cancel_at_period_end: subscription.cancel_at_period_end,
        past_due_since: match subscription.status.as_str() {
            "past_due" | "unpaid" => Some(
                current
                    .as_ref()
                    .and_then(|row| row.past_due_since)
                    .unwrap_or(now),
            ),
            _ => None,
        },
        trial_used: true,
    };
    rows::save(conn, &row).await?;
    let audited = |row: Option<&OrgBilling>| {
        serde_json::json!({
            "plan": row.map(|r| r.plan.as_str()),
            "billing_interval": row.and_then(|r| r.billing_interval.as_deref()),
            "status": row.map(|r| r.status.as_str()),
            "cancel_at_period_end": row.map(|r| r.cancel_at_period_end),
        })
    };
    let changes = Changes::diff(&audited(current.as_ref()), &audited(Some(&row)));
    if !changes.is_empty() {
        let entry = Entry::new(Action::BillingPlanChanged, org).with(changes.set(
            "stripe_event",
            serde_json::Value::Null,
            event.id.clone().into(),
        ));
        audit::record(conn, org, entry).await?;
    }
    let kind = if subscription.status == "past_due" && !was_past_due {
        Some("payment_failed")
    } else if event.kind == "customer.subscription.trial_will_end" {
        Some("trial_will_end")
    } else {
        None
    };
    let period = row.current_period_start.unwrap_or(now).date_naive();
    let notice = match kind {
        Some(kind) if rows::claim_notice(conn, org, kind, period).await? => Some(Notice {
            kind: kind.to_string(),
        }),
        _ => None,
    };
    Ok(Applied::Saved {
        row: Box::new(row),
        notice,
    })
}
