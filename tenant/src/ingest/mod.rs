//! The ingest toolkit every pipeline shares (pageviews and custom events, Web Vitals, errors,
//! later replay): payload validation ([`payload`]), capped body decoding ([`body`]), bot
//! filtering and enrichment ([`enrich`], [`geo`], [`referrers`]), routing a domain or DSN to
//! its project ([`router`]) and group commit ([`group_commit`]; the event [`writer`]). No HTTP: the API's
//! endpoints only read requests and write answers around these.

pub mod body;
pub mod enrich;
pub mod geo;
pub mod group_commit;
pub mod payload;
pub mod quota;
pub mod referrers;
pub mod router;
pub mod vitals;
pub mod writer;

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::errors::symbolicate::SourceMaps;
use crate::tables::events::NewEvent;
use enrich::{AgentCache, Device};
use geo::Location;
use payload::EventIn;
use router::{Router, Target};
use writer::Writer;

/// Most events in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 100;

/// Everything ingestion shares.
pub struct Ingest {
    /// The group-commit writer of pageviews and custom events.
    pub writer: std::sync::Arc<Writer>,
    /// The group-commit writer of error events.
    pub errors: std::sync::Arc<crate::errors::writer::ErrorWriter>,
    /// Domain and salt lookup.
    pub router: Router,
    /// User agent memo.
    pub agents: AgentCache,
    /// IP geolocation.
    pub geo: geo::Geo,
    /// Referrer host → source name.
    pub referrers: referrers::ReferrerList,
    /// Parsed source maps of error events' releases.
    pub source_maps: SourceMaps,
    /// Organizations over a product's quota past the grace period.
    pub quotas: std::sync::Arc<quota::QuotaGate>,
}

/// Who sent an event, as far as Beacon may know it: used for enrichment, never stored as such.
#[derive(Debug, Clone)]
pub struct Visitor<'a> {
    /// The client's address (hashed into the visitor id, located to a country; never stored).
    pub ip: IpAddr,
    /// The user agent string (hashed into the visitor id; never stored).
    pub user_agent: &'a str,
    /// What the user agent names.
    pub device: &'a Device,
    /// Where the address is.
    pub location: Location,
}

impl Ingest {
    /// The stored row of a validated event for `target`: UTM, referrer source, device, place and
    /// the salted visitor id.
    pub fn event_row(
        &self,
        event: &EventIn,
        target: &Target,
        visitor: &Visitor<'_>,
        ts: DateTime<Utc>,
    ) -> NewEvent {
        let utm = enrich::utm(&event.url);
        let hostname = event.url.host_str().unwrap_or_default().to_lowercase();
        let referrer_host = enrich::referrer_host(event.referrer.as_deref(), &hostname);
        NewEvent {
            org_id: target.org_id,
            project_id: target.project_id,
            ts,
            event_id: uuid::Uuid::now_v7(),
            name: event.name.clone(),
            visitor_id: enrich::visitor_id(
                &target.salt,
                target.project_id,
                visitor.ip,
                visitor.user_agent,
            ),
            source: utm.source.clone().or_else(|| {
                referrer_host
                    .as_deref()
                    .map(|host| self.referrers.source_for(host))
            }),
            referrer_host,
            pathname: event.pathname.clone(),
            hostname,
            utm_source: utm.source,
            utm_medium: utm.medium,
            utm_campaign: utm.campaign,
            utm_content: utm.content,
            utm_term: utm.term,
            browser: visitor.device.browser.clone(),
            browser_version: visitor.device.browser_version.clone(),
            os: visitor.device.os.clone(),
            os_version: visitor.device.os_version.clone(),
            device: visitor.device.device.clone(),
            country: visitor.location.country.clone(),
            region: visitor.location.region.clone(),
            city: visitor.location.city.clone(),
            props: Value::Object(event.props.clone()),
            revenue_amount: event.revenue.as_ref().map(|(amount, _)| amount.clone()),
            revenue_currency: event.revenue.as_ref().map(|(_, currency)| currency.clone()),
            interactive: event.interactive,
        }
    }
}
