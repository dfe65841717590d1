//! `usage_daily`, `quota_state` and `dropped_daily`: what each organization stored per billed
//! product and day, where it stands against its quota, and what ingestion refused over quota.
//!
//! Usage is counted from the rows Beacon already keeps (events, error events), not metered on
//! the hot path, so ingestion pays nothing for it.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use crate::OrgId;
use crate::schema::{dropped_daily, quota_state, usage_daily};

/// A billed product, each with its own quota (an error quota never stops pageviews).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    /// Pageviews and custom events.
    Events,
    /// Error events.
    Errors,
    /// Session replays.
    Replays,
}

impl Product {
    /// Every product.
    pub const ALL: [Product; 3] = [Product::Events, Product::Errors, Product::Replays];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Product::Events => "events",
            Product::Errors => "errors",
            Product::Replays => "replays",
        }
    }

    /// The product stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|product| product.as_str() == name)
    }
}

#[derive(QueryableByName)]
struct DayCount {
    #[diesel(sql_type = SqlUuid)]
    org_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    product: String,
    #[diesel(sql_type = BigInt)]
    quantity: i64,
}

/// Counts every organization's stored events, error events and recorded sessions (by their
/// start) of the UTC day `day` and records
/// them (a finished day already reported to Stripe is left as reported). Returns how many
/// (organization, product) counts were written. Sweeps all tenants: call it as
/// `beacon_sweeper`.
pub async fn count_day(conn: &mut AsyncPgConnection, day: NaiveDate) -> QueryResult<usize> {
    let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
    let end = start + chrono::Duration::days(1);
    let counts: Vec<DayCount> = diesel::sql_query(
        "SELECT org_id, 'events' AS product, count(*) AS quantity FROM events \
         WHERE ts >= $1 AND ts < $2 GROUP BY org_id \
         UNION ALL \
         SELECT org_id, 'errors', count(*) FROM error_events \
         WHERE received_at >= $1 AND received_at < $2 GROUP BY org_id \
         UNION ALL \
         SELECT org_id, 'replays', count(*) FROM replay_sessions \
         WHERE started_at >= $1 AND started_at < $2 GROUP BY org_id",
    )
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .load(conn)
    .await?;
    for count in &counts {
        diesel::sql_query(
            "INSERT INTO usage_daily (org_id, product, day, quantity) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, product, day) DO UPDATE SET quantity = $4 \
             WHERE usage_daily.reported_at IS NULL",
        )
        .bind::<SqlUuid, _>(count.org_id)
        .bind::<Text, _>(&count.product)
        .bind::<Date, _>(day)
        .bind::<BigInt, _>(count.quantity)
        .execute(conn)
        .await?;
    }
    Ok(counts.len())
}

/// Organizations with usage recorded since `since` (the ones whose quotas need a look).
/// Sweeps all tenants: call it as `beacon_sweeper`.
pub async fn orgs_with_usage_since(
    conn: &mut AsyncPgConnection,
    since: NaiveDate,
) -> QueryResult<Vec<OrgId>> {
    usage_daily::table
        .filter(usage_daily::day.ge(since))
        .select(usage_daily::org_id)
        .distinct()
        .order(usage_daily::org_id)
        .load::<uuid::Uuid>(conn)
        .await
        .map(|ids| ids.into_iter().map(OrgId::from_uuid).collect())
}

/// One product's usage on one day.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct DailyUsage {
    /// Product.
    pub product: String,
    /// UTC day.
    pub day: NaiveDate,
    /// Events stored.
    pub quantity: i64,
}

/// The organization's usage per product and day in `from..=to`, by day.
pub async fn daily(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<DailyUsage>> {
    usage_daily::table
        .filter(usage_daily::org_id.eq(org_id))
        .filter(usage_daily::day.between(from, to))
        .select((
            usage_daily::product,
            usage_daily::day,
            usage_daily::quantity,
        ))
        .order((usage_daily::day, usage_daily::product))
        .load(conn)
        .await
}

/// Days before `before` not yet reported to Stripe.
pub async fn unreported(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    before: NaiveDate,
) -> QueryResult<Vec<DailyUsage>> {
    usage_daily::table
        .filter(usage_daily::org_id.eq(org_id))
        .filter(usage_daily::day.lt(before))
        .filter(usage_daily::reported_at.is_null())
        .select((
            usage_daily::product,
            usage_daily::day,
            usage_daily::quantity,
        ))
        .order((usage_daily::day, usage_daily::product))
        .load(conn)
        .await
}

/// Marks one day of one product as reported to Stripe (its count is final from then on).
pub async fn mark_reported(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    product: &str,
    day: NaiveDate,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(usage_daily::table.find((org_id, product, day)))
        .set(usage_daily::reported_at.eq(at))
        .execute(conn)
        .await
        .map(drop)
}

/// Where a product stands against its quota this period.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = quota_state)]
#[diesel(treat_none_as_null = true)]
pub struct QuotaState {
    /// Organization.
    pub org_id: OrgId,
    /// Product name.
    pub product: String,
    /// First day of the billing period.
    pub period_start: NaiveDate,
    /// Used this period.
    pub used: i64,
    /// The quota (none: unlimited).
    pub quota: Option<i64>,
    /// Over quota since (the grace period counts from here).
    pub over_since: Option<DateTime<Utc>>,
    /// Ingestion drops this product.
    pub blocked: bool,
}

/// The organization's quota states.
pub async fn quota_states(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Vec<QuotaState>> {
    quota_state::table
        .filter(quota_state::org_id.eq(org_id))
        .select(QuotaState::as_select())
        .order(quota_state::product)
        .load(conn)
        .await
}

/// Inserts or replaces a quota state.
pub async fn save_quota_state(conn: &mut AsyncPgConnection, state: &QuotaState) -> QueryResult<()> {
    diesel::insert_into(quota_state::table)
        .values(state)
        .on_conflict((quota_state::org_id, quota_state::product))
        .do_update()
        .set((state, quota_state::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(drop)
}

/// Every blocked (organization, product), for ingestion. Reads all tenants: call it as
/// `beacon_ingest`.
pub async fn blocked(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(OrgId, Product)>> {
    let rows: Vec<(uuid::Uuid, String)> = quota_state::table
        .filter(quota_state::blocked)
        .select((quota_state::org_id, quota_state::product))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(org, product)| Some((OrgId::from_uuid(org), Product::parse(&product)?)))
        .collect())
}

/// Adds `dropped` to the count of events of `product` refused on `day`. Writes any tenant:
/// call it as `beacon_ingest`.
pub async fn add_dropped(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    product: Product,
    day: NaiveDate,
    dropped: i64,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO dropped_daily (org_id, product, day, dropped) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, product, day) DO UPDATE SET dropped = dropped_daily.dropped + $4",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<Text, _>(product.as_str())
    .bind::<Date, _>(day)
    .bind::<BigInt, _>(dropped)
    .execute(conn)
    .await
    .map(drop)
}

/// Events refused over quota per product and day since `since`.
pub async fn dropped_since(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    since: NaiveDate,
) -> QueryResult<Vec<DailyUsage>> {
    dropped_daily::table
        .filter(dropped_daily::org_id.eq(org_id))
        .filter(dropped_daily::day.ge(since))
        .select((
            dropped_daily::product,
            dropped_daily::day,
            dropped_daily::dropped,
        ))
        .order((dropped_daily::day, dropped_daily::product))
        .load(conn)
        .await
}
