//! `events`: pageviews and custom events, written in batches by the ingestion writer.
//!
//! A batch is one `INSERT … SELECT FROM unnest(…)` with one array parameter per column, so a
//! thousand events cost one statement and one round trip, whatever the tenants, and the
//! statement is prepared once per connection.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
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
pub async fn insert_batch<'a>(
    conn: &mut AsyncPgConnection,
    events: impl IntoIterator<Item = &'a NewEvent>,
) -> diesel::QueryResult<usize> {
    let batch = EventColumns::of(events);
    if batch.event_id.is_empty() {
        return Ok(0);
    }
    batch.execute(conn).await
}

/// A batch as one array per column, borrowed from its events: the statement
/// [`insert_batch`] sends. Its SQL is the same for every batch, so unlike `sql_query` (which
/// Diesel never caches) it is prepared once per connection and PostgreSQL parses and plans
/// it once, not once per batch (a third of PostgreSQL's CPU under ingest load; see
/// docs/benchmarks.md).
struct EventColumns<'a> {
    org_id: Vec<Uuid>,
    project_id: Vec<Uuid>,
    ts: Vec<DateTime<Utc>>,
    event_id: Vec<Uuid>,
    name: Vec<&'a str>,
    visitor_id: Vec<i64>,
    hostname: Vec<&'a str>,
    pathname: Vec<&'a str>,
    referrer_host: Vec<Option<&'a str>>,
    source: Vec<Option<&'a str>>,
    utm_source: Vec<Option<&'a str>>,
    utm_medium: Vec<Option<&'a str>>,
    utm_campaign: Vec<Option<&'a str>>,
    utm_content: Vec<Option<&'a str>>,
    utm_term: Vec<Option<&'a str>>,
    browser: Vec<Option<&'a str>>,
    browser_version: Vec<Option<&'a str>>,
    os: Vec<Option<&'a str>>,
    os_version: Vec<Option<&'a str>>,
    device: Vec<Option<&'a str>>,
    country: Vec<Option<&'a str>>,
    region: Vec<Option<&'a str>>,
    city: Vec<Option<&'a str>>,
    props: Vec<&'a serde_json::Value>,
    revenue_amount: Vec<Option<&'a str>>,
    revenue_currency: Vec<Option<&'a str>>,
    interactive: Vec<bool>,
}

impl<'a> EventColumns<'a> {
    fn of(events: impl IntoIterator<Item = &'a NewEvent>) -> Self {
        let mut columns = Self {
            org_id: Vec::new(),
            project_id: Vec::new(),
            ts: Vec::new(),
            event_id: Vec::new(),
            name: Vec::new(),
            visitor_id: Vec::new(),
            hostname: Vec::new(),
            pathname: Vec::new(),
            referrer_host: Vec::new(),
            source: Vec::new(),
            utm_source: Vec::new(),
            utm_medium: Vec::new(),
            utm_campaign: Vec::new(),
            utm_content: Vec::new(),
            utm_term: Vec::new(),
            browser: Vec::new(),
            browser_version: Vec::new(),
            os: Vec::new(),
            os_version: Vec::new(),
            device: Vec::new(),
            country: Vec::new(),
            region: Vec::new(),
            city: Vec::new(),
            props: Vec::new(),
            revenue_amount: Vec::new(),
            revenue_currency: Vec::new(),
            interactive: Vec::new(),
        };
        for e in events {
            columns.org_id.push(e.org_id);
            columns.project_id.push(e.project_id);
            columns.ts.push(e.ts);
            columns.event_id.push(e.event_id);
            columns.name.push(&e.name);
            columns.visitor_id.push(e.visitor_id);
            columns.hostname.push(&e.hostname);
            columns.pathname.push(&e.pathname);
            columns.referrer_host.push(e.referrer_host.as_deref());
            columns.source.push(e.source.as_deref());
            columns.utm_source.push(e.utm_source.as_deref());
            columns.utm_medium.push(e.utm_medium.as_deref());
            columns.utm_campaign.push(e.utm_campaign.as_deref());
            columns.utm_content.push(e.utm_content.as_deref());
            columns.utm_term.push(e.utm_term.as_deref());
            columns.browser.push(e.browser.as_deref());
            columns.browser_version.push(e.browser_version.as_deref());
            columns.os.push(e.os.as_deref());
            columns.os_version.push(e.os_version.as_deref());
            columns.device.push(e.device.as_deref());
            columns.country.push(e.country.as_deref());
            columns.region.push(e.region.as_deref());
            columns.city.push(e.city.as_deref());
            columns.props.push(&e.props);
            columns.revenue_amount.push(e.revenue_amount.as_deref());
            columns.revenue_currency.push(e.revenue_currency.as_deref());
            columns.interactive.push(e.interactive);
        }
        columns
    }
}

/// Pushes `INSERT INTO events (<columns>) SELECT * FROM unnest(<one array per column>)` from
/// one list of columns (each with its array's SQL type and cast), so the column names and the
/// arrays bound to them cannot fall out of step.
macro_rules! push_insert {
    ($out:ident, $batch:ident,
     $first:ident: $first_type:ty => $first_cast:literal,
     $($column:ident: $sql_type:ty => $cast:literal),+ $(,)?) => {{
        $out.push_sql(concat!("INSERT INTO events (", stringify!($first)));
        $($out.push_sql(concat!(", ", stringify!($column)));)+
        $out.push_sql(") SELECT * FROM unnest(");
        $out.push_bind_param::<Array<$first_type>, _>(&$batch.$first)?;
        $out.push_sql($first_cast);
        $(
            $out.push_sql(", ");
            $out.push_bind_param::<Array<$sql_type>, _>(&$batch.$column)?;
            $out.push_sql($cast);
        )+
        $out.push_sql(")");
    }};
}

impl QueryFragment<Pg> for EventColumns<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        push_insert!(out, self,
            org_id: SqlUuid => "::uuid[]",
            project_id: SqlUuid => "::uuid[]",
            ts: Timestamptz => "::timestamptz[]",
            event_id: SqlUuid => "::uuid[]",
            name: Text => "::text[]",
            visitor_id: BigInt => "::int8[]",
            hostname: Text => "::text[]",
            pathname: Text => "::text[]",
            referrer_host: Nullable<Text> => "::text[]",
            source: Nullable<Text> => "::text[]",
            utm_source: Nullable<Text> => "::text[]",
            utm_medium: Nullable<Text> => "::text[]",
            utm_campaign: Nullable<Text> => "::text[]",
            utm_content: Nullable<Text> => "::text[]",
            utm_term: Nullable<Text> => "::text[]",
            browser: Nullable<Text> => "::text[]",
            browser_version: Nullable<Text> => "::text[]",
            os: Nullable<Text> => "::text[]",
            os_version: Nullable<Text> => "::text[]",
            device: Nullable<Text> => "::text[]",
            country: Nullable<Text> => "::text[]",
            region: Nullable<Text> => "::text[]",
            city: Nullable<Text> => "::text[]",
            props: Jsonb => "::jsonb[]",
            revenue_amount: Nullable<Text> => "::text[]::numeric[]",
            revenue_currency: Nullable<Text> => "::text[]",
            interactive: Bool => "::bool[]",
        );
        Ok(())
    }
}

/// One statement, whatever the batch: prepared once per connection (see [`EventColumns`]).
impl QueryId for EventColumns<'_> {
    type QueryId = EventColumns<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
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
