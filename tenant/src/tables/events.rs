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

impl QueryFragment<Pg> for EventColumns<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql(
            "INSERT INTO events (org_id, project_id, ts, event_id, name, visitor_id, hostname, \
             pathname, referrer_host, source, utm_source, utm_medium, utm_campaign, utm_content, \
             utm_term, browser, browser_version, os, os_version, device, country, region, city, \
             props, revenue_amount, revenue_currency, interactive) SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<SqlUuid>, _>(&self.org_id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.project_id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.ts)?;
        out.push_sql("::timestamptz[], ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.event_id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Text>, _>(&self.name)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<BigInt>, _>(&self.visitor_id)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<Text>, _>(&self.hostname)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Text>, _>(&self.pathname)?;
        out.push_sql("::text[]");
        for column in [
            &self.referrer_host,
            &self.source,
            &self.utm_source,
            &self.utm_medium,
            &self.utm_campaign,
            &self.utm_content,
            &self.utm_term,
            &self.browser,
            &self.browser_version,
            &self.os,
            &self.os_version,
            &self.device,
            &self.country,
            &self.region,
            &self.city,
        ] {
            out.push_sql(", ");
            out.push_bind_param::<Array<Nullable<Text>>, _>(column)?;
            out.push_sql("::text[]");
        }
        out.push_sql(", ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.props)?;
        out.push_sql("::jsonb[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.revenue_amount)?;
        out.push_sql("::text[]::numeric[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.revenue_currency)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Bool>, _>(&self.interactive)?;
        out.push_sql("::bool[])");
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
