//! `events`: pageviews and custom events, written in batches by the ingestion writer.
//!
//! A batch is one `INSERT … SELECT FROM unnest(…)` with one array parameter per column, so a
//! thousand events cost one statement and one round trip, whatever the tenants.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::ProjectId;

/// An event ready to store: enriched, with no IP address and no user agent string.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Organization.
    pub org_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// When it happened (server time).
    pub ts: DateTime<Utc>,
    /// Id (v7).
    pub event_id: Uuid,
    /// `pageview` or a custom name.
    pub name: String,
    /// Salted visitor hash.
    pub visitor_id: i64,
    /// Host of the page.
    pub hostname: String,
    /// Path of the page.
    pub pathname: String,
    /// Host of the referrer.
    pub referrer_host: Option<String>,
    /// Traffic source name.
    pub source: Option<String>,
    /// `utm_source`.
    pub utm_source: Option<String>,
    /// `utm_medium`.
    pub utm_medium: Option<String>,
    /// `utm_campaign`.
    pub utm_campaign: Option<String>,
    /// `utm_content`.
    pub utm_content: Option<String>,
    /// `utm_term`.
    pub utm_term: Option<String>,
    /// Browser family.
    pub browser: Option<String>,
    /// Browser version.
    pub browser_version: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// OS version.
    pub os_version: Option<String>,
    /// `desktop`, `mobile`, `tablet`.
    pub device: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    /// ISO 3166-2 region.
    pub region: Option<String>,
    /// City name.
    pub city: Option<String>,
    /// Custom properties.
    pub props: serde_json::Value,
    /// Revenue amount as a decimal string.
    pub revenue_amount: Option<String>,
    /// ISO 4217 currency.
    pub revenue_currency: Option<String>,
    /// Whether the event counts for bounce.
    pub interactive: bool,
}

/// Inserts a batch (as `beacon_ingest`); the policy refuses rows whose project is not their
/// organization's.
pub async fn insert_batch(
    conn: &mut AsyncPgConnection,
    events: &[NewEvent],
) -> diesel::QueryResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    macro_rules! column {
        ($field:ident) => {
            events.iter().map(|e| e.$field.clone()).collect::<Vec<_>>()
        };
    }
    diesel::sql_query(
        "INSERT INTO events (org_id, project_id, ts, event_id, name, visitor_id, hostname, \
         pathname, referrer_host, source, utm_source, utm_medium, utm_campaign, utm_content, utm_term, \
         browser, browser_version, os, os_version, device, country, region, city, props, \
         revenue_amount, revenue_currency, interactive) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::uuid[], $5::text[], \
         $6::int8[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
         $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], \
         $19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::jsonb[], \
         $25::text[]::numeric[], $26::text[], $27::bool[])",
    )
    .bind::<Array<SqlUuid>, _>(column!(org_id))
    .bind::<Array<SqlUuid>, _>(column!(project_id))
    .bind::<Array<Timestamptz>, _>(column!(ts))
    .bind::<Array<SqlUuid>, _>(column!(event_id))
    .bind::<Array<Text>, _>(column!(name))
    .bind::<Array<BigInt>, _>(column!(visitor_id))
    .bind::<Array<Text>, _>(column!(hostname))
    .bind::<Array<Text>, _>(column!(pathname))
    .bind::<Array<Nullable<Text>>, _>(column!(referrer_host))
    .bind::<Array<Nullable<Text>>, _>(column!(source))
    .bind::<Array<Nullable<Text>>, _>(column!(utm_source))
    .bind::<Array<Nullable<Text>>, _>(column!(utm_medium))
    .bind::<Array<Nullable<Text>>, _>(column!(utm_campaign))
    .bind::<Array<Nullable<Text>>, _>(column!(utm_content))
    .bind::<Array<Nullable<Text>>, _>(column!(utm_term))
    .bind::<Array<Nullable<Text>>, _>(column!(browser))
    .bind::<Array<Nullable<Text>>, _>(column!(browser_version))
    .bind::<Array<Nullable<Text>>, _>(column!(os))
    .bind::<Array<Nullable<Text>>, _>(column!(os_version))
    .bind::<Array<Nullable<Text>>, _>(column!(device))
    .bind::<Array<Nullable<Text>>, _>(column!(country))
    .bind::<Array<Nullable<Text>>, _>(column!(region))
    .bind::<Array<Nullable<Text>>, _>(column!(city))
    .bind::<Array<Jsonb>, _>(column!(props))
    .bind::<Array<Nullable<Text>>, _>(column!(revenue_amount))
    .bind::<Array<Nullable<Text>>, _>(column!(revenue_currency))
    .bind::<Array<Bool>, _>(column!(interactive))
    .execute(conn)
    .await
}

/// Whether `project_id` has any event (in the caller's organization scope).
pub async fn any_for_project(
    conn: &mut AsyncPgConnection,
    project_id: ProjectId,
) -> diesel::QueryResult<bool> {
    use crate::schema::events::dsl;
    use diesel::{ExpressionMethods, QueryDsl};
    diesel::select(diesel::dsl::exists(
        dsl::events.filter(dsl::project_id.eq(project_id)),
    ))
    .get_result(conn)
    .await
}
