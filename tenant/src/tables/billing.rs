//! `org_billing`, `stripe_events` and `billing_notices`: an organization's subscription as last
//! read from Stripe, the webhook events already applied, and the billing e-mails already sent.
//!
//! The subscription row is written only from what Stripe says (a webhook re-reads the
//! subscription before applying it); Beacon never decides a plan by itself. No row means the
//! organization never subscribed.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::OrgId;
use crate::schema::{
    billing_notices, invitations, memberships, org_billing, projects, stripe_events,
};

/// The stored subscription of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = org_billing)]
#[diesel(treat_none_as_null = true)]
pub struct OrgBilling {
    /// Organization.
    pub org_id: OrgId,
    /// Stripe customer (`cus_…`), created once per organization.
    pub stripe_customer_id: Option<String>,
    /// Stripe subscription (`sub_…`) the plan comes from.
    pub stripe_subscription_id: Option<String>,
    /// Plan key (`free`, `team`, …).
    pub plan: String,
    /// `month` or `year`.
    pub billing_interval: Option<String>,
    /// Stripe's subscription status, or `none`.
    pub status: String,
    /// Start of the paid period.
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of the paid period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// End of the trial.
    pub trial_end: Option<DateTime<Utc>>,
    /// Cancels when the period ends.
    pub cancel_at_period_end: bool,
    /// When payment started failing (dunning's grace counts from here).
    pub past_due_since: Option<DateTime<Utc>>,
    /// The organization has had a subscription (no second trial).
    pub trial_used: bool,
}

/// The organization's billing row, locked for update when `lock` (webhooks serialize on it).
pub async fn get(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    lock: bool,
) -> QueryResult<Option<OrgBilling>> {
    let query = org_billing::table
        .find(org_id)
        .select(OrgBilling::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// The organization's Stripe customer, once it has one.
pub async fn customer_id(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Option<String>> {
    Ok(get(conn, org_id, false)
        .await?
        .and_then(|row| row.stripe_customer_id))
}

/// Inserts or replaces the organization's billing row.
pub async fn save(conn: &mut AsyncPgConnection, row: &OrgBilling) -> QueryResult<()> {
    diesel::insert_into(org_billing::table)
        .values(row)
        .on_conflict(org_billing::org_id)
        .do_update()
        .set((row, org_billing::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(drop)
}

/// Records that the webhook event `event_id` was applied; `false` when it already was (a
/// redelivery).
pub async fn record_event(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    event_id: &str,
    event_type: &str,
) -> QueryResult<bool> {
    diesel::insert_into(stripe_events::table)
        .values((
            stripe_events::org_id.eq(org_id),
            stripe_events::event_id.eq(event_id),
            stripe_events::event_type.eq(event_type),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}

/// Records that the notice `kind` of the period starting `period_start` is being sent; `false`
/// when it already was (each notice goes out once per period).
pub async fn claim_notice(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    kind: &str,
    period_start: NaiveDate,
) -> QueryResult<bool> {
    diesel::insert_into(billing_notices::table)
        .values((
            billing_notices::org_id.eq(org_id),
            billing_notices::kind.eq(kind),
            billing_notices::period_start.eq(period_start),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}

/// Seats in use: members plus pending invitations.
pub async fn seats_used(conn: &mut AsyncPgConnection, org_id: OrgId) -> QueryResult<i64> {
    let members: i64 = memberships::table
        .filter(memberships::org_id.eq(org_id))
        .count()
        .get_result(conn)
        .await?;
    let pending: i64 = invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::accepted_at.is_null())
        .count()
        .get_result(conn)
        .await?;
    Ok(members + pending)
}

/// Number of projects (those pending erasure do not count: they are on their way out).
pub async fn projects_used(conn: &mut AsyncPgConnection, org_id: OrgId) -> QueryResult<i64> {
    projects::table
        .filter(projects::org_id.eq(org_id))
        .filter(projects::erase_after.is_null())
        .count()
        .get_result(conn)
        .await
}

/// How many of the organization's projects were created before `project` (its position, from
/// 0, by creation; projects pending erasure do not count): a plan allowing N projects keeps the
/// first N writable.
pub async fn project_position(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project: &crate::tables::projects::Project,
) -> QueryResult<i64> {
    projects::table
        .filter(projects::org_id.eq(org_id))
        .filter(projects::erase_after.is_null())
        .filter(
            projects::created_at
                .lt(project.created_at)
                .or(projects::created_at
                    .eq(project.created_at)
                    .and(projects::project_id.lt(project.project_id))),
        )
        .count()
        .get_result(conn)
        .await
}
