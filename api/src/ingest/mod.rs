//! Ingestion: `POST /api/event`, Plausible's Events API, for Beacon's tracker and for any
//! existing Plausible integration (change the host, keep the payload).
//!
//! validate ([`payload`]) → drop bots and enrich ([`enrich`]) → route to a project and its salt
//! ([`router`]) → group-commit write ([`writer`]) → 202 after commit. The body may be one event
//! or an array of up to 100; each invalid event is refused with its reason while the valid
//! ones are stored.

pub mod enrich;
pub mod geo;
pub mod payload;
pub mod referrers;
pub mod router;
pub mod writer;

use std::net::{IpAddr, Ipv4Addr};

use chrono::Utc;
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiRequest, ApiResponse, Object, OpenApi};
use serde_json::Value;
use tenant::tables::events::NewEvent;

use crate::auth::client_ip::client_ip;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::state::AppState;
use enrich::{Agent, AgentCache};
use router::Router;
use writer::{WriteError, Writer};

/// Most events in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 100;

/// Everything ingestion shares.
pub struct Ingest {
    /// The group-commit writer.
    pub writer: std::sync::Arc<Writer>,
    /// Domain and salt lookup.
    pub router: Router,
    /// User agent memo.
    pub agents: AgentCache,
    /// IP geolocation.
    pub geo: geo::Geo,
    /// Referrer host → source name.
    pub referrers: referrers::ReferrerList,
    /// Parsed source maps of error events' releases.
    pub source_maps: crate::errors::symbolicate::SourceMaps,
}

/// The request body: JSON, sent as `application/json` or (as the tracker does, to avoid a CORS
/// preflight) `text/plain`.
#[derive(ApiRequest)]
enum EventBody {
    /// One event object, or an array of up to 100. Fields as in Plausible's Events API:
    /// `name`/`n`, `url`/`u`, `domain`/`d` (comma list allowed), `referrer`/`r`, `props`/`p`,
    /// `revenue`/`$` (`{"amount", "currency"}`), `interactive`/`i`, `hashMode`/`h`, and
    /// `timestamp` (RFC 3339 or Unix seconds, within 5 minutes of the server clock).
    Json(Json<Value>),
    /// The same JSON as text.
    Text(PlainText<String>),
}

/// One refused event of a batch.
#[derive(Debug, Object)]
pub struct Rejection {
    /// Position in the request (0 for a single event).
    pub index: u32,
    /// Problem type, as in problem+json.
    #[oai(rename = "type")]
    pub kind: String,
    /// Reason.
    pub detail: String,
}

/// What happened to the events of a request.
#[derive(Debug, Object)]
pub struct IngestReport {
    /// Events stored (one per project for multi-domain events).
    pub accepted: u32,
    /// Events dropped on purpose (bots, automation).
    pub dropped: u32,
    /// Events refused, with reasons.
    pub rejected: Vec<Rejection>,
}

#[derive(ApiResponse)]
enum EventResponse {
    /// Stored (committed) — or dropped as a bot; see the report.
    #[oai(status = 202)]
    Accepted(Json<IngestReport>),
}

fn problem_kind(kind: &str) -> &'static str {
    match kind {
        "missing_field" => "missing_field",
        "invalid_url" => "invalid_url",
        "invalid_props" => "invalid_props",
        "invalid_revenue" => "invalid_revenue",
        "unknown_domain" => "unknown_domain",
        "invalid_event" => "invalid_event",
        "invalid_timestamp" => "invalid_timestamp",
        _ => "invalid_field",
    }
}

/// The Events API.
#[derive(Default)]
pub struct IngestApi;

#[OpenApi(tag = "ApiTags::Ingestion")]
impl IngestApi {
    /// Record pageviews and custom events (Plausible-compatible). Answers after the events are
    /// committed; 503 with `Retry-After` when overloaded.
    #[oai(path = "/api/event", method = "post", operation_id = "send_event")]
    async fn send_event(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: EventBody,
    ) -> ApiResult<EventResponse> {
        let value = match body {
            EventBody::Json(Json(value)) => value,
            EventBody::Text(PlainText(text)) => serde_json::from_str(&text).map_err(|e| {
                ApiError::bad_request("invalid_json", format!("the body is not JSON: {e}"))
            })?,
        };
        let items: Vec<Value> = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        if items.is_empty() || items.len() > MAX_EVENTS_PER_REQUEST {
            return Err(ApiError::bad_request(
                "invalid_event",
                format!("send 1 to {MAX_EVENTS_PER_REQUEST} events per request"),
            ));
        }
        let ingest = &state.ingest;
        let user_agent = req
            .headers()
            .get(poem::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let device = match ingest.agents.classify(user_agent) {
            Agent::Bot => {
                return Ok(EventResponse::Accepted(Json(IngestReport {
                    accepted: 0,
                    dropped: items.len() as u32,
                    rejected: vec![],
                })));
            }
            Agent::Human(device) => device,
        };
        let ip =
            client_ip(req, &state.trusted_proxies).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let location = ingest.geo.locate(ip);
        let now = Utc::now();
        let mut events = Vec::new();
        let mut rejected = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let reject = |kind: &str, detail: String| Rejection {
                index: index as u32,
                kind: format!("{}{}", crate::error::PROBLEM_BASE, problem_kind(kind)),
                detail,
            };
            let (event, ts) = match payload::parse_event(item)
                .and_then(|event| Ok((payload::check_timestamp(&event, now)?, event)))
            {
                Ok((ts, event)) => (event, ts),
                Err(invalid) => {
                    rejected.push(reject(invalid.kind, invalid.detail));
                    continue;
                }
            };
            let mut routed = 0;
            for domain in &event.domains {
                let Some(target) = ingest.router.route(domain).await? else {
                    continue;
                };
                routed += 1;
                let utm = enrich::utm(&event.url);
                let hostname = event.url.host_str().unwrap_or_default().to_lowercase();
                let referrer_host = enrich::referrer_host(event.referrer.as_deref(), &hostname);
                events.push(NewEvent {
                    org_id: target.org_id,
                    project_id: target.project_id,
                    ts,
                    event_id: uuid::Uuid::now_v7(),
                    name: event.name.clone(),
                    visitor_id: enrich::visitor_id(&target.salt, target.project_id, ip, user_agent),
                    source: utm.source.clone().or_else(|| {
                        referrer_host
                            .as_deref()
                            .map(|host| ingest.referrers.source_for(host))
                    }),
                    referrer_host,
                    pathname: event.pathname.clone(),
                    hostname,
                    utm_source: utm.source,
                    utm_medium: utm.medium,
                    utm_campaign: utm.campaign,
                    utm_content: utm.content,
                    utm_term: utm.term,
                    browser: device.browser.clone(),
                    browser_version: device.browser_version.clone(),
                    os: device.os.clone(),
                    os_version: device.os_version.clone(),
                    device: device.device.clone(),
                    country: location.country.clone(),
                    region: location.region.clone(),
                    city: location.city.clone(),
                    props: Value::Object(event.props.clone()),
                    revenue_amount: event.revenue.as_ref().map(|(amount, _)| amount.clone()),
                    revenue_currency: event.revenue.as_ref().map(|(_, currency)| currency.clone()),
                    interactive: event.interactive,
                });
            }
            if routed == 0 {
                rejected.push(reject(
                    "unknown_domain",
                    format!("no project collects for {}", event.domains.join(", ")),
                ));
            }
        }
        if events.is_empty() {
            let first = rejected
                .first()
                .map(|r| r.detail.clone())
                .unwrap_or_default();
            let kind = rejected
                .first()
                .map(|r| problem_kind(r.kind.trim_start_matches(crate::error::PROBLEM_BASE)))
                .unwrap_or("invalid_event");
            let detail = if rejected.len() > 1 {
                format!("no event was stored; first reason: {first}")
            } else {
                first
            };
            return Err(ApiError::bad_request(kind, detail));
        }
        let accepted = events.len() as u32;
        ingest.writer.write(events).await.map_err(|error| {
            let detail = match error {
                WriteError::Overloaded => "ingestion is at capacity; retry shortly",
                WriteError::Failed => "the events could not be stored; retry shortly",
            };
            ApiError {
                retry_after: Some(1),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
            }
        })?;
        Ok(EventResponse::Accepted(Json(IngestReport {
            accepted,
            dropped: 0,
            rejected,
        })))
    }
}
