//! Ingestion: `POST /api/event`, Plausible's Events API, for Beacon's tracker and for any
//! existing Plausible integration (change the host, keep the payload).
//!
//! validate → drop bots and enrich → route to a project and its salt → group-commit write →
//! 202 after commit; each step is `tenant::ingest`'s, this file only speaks HTTP. The body may be one event
//! or an array of up to 100; each invalid event is refused with its reason while the valid
//! ones are stored.

use std::net::{IpAddr, Ipv4Addr};
use tenant::problem::ProblemKind;

use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use tenant::OrgId;
use tenant::ingest::Visitor;
use tenant::ingest::enrich::Agent;
use tenant::ingest::payload;
use tenant::ingest::writer::WriteError;
use tenant::tables::usage::Product;

use crate::auth::client_ip::client_ip;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::site_json::SiteJson;
use crate::state::AppState;

use tenant::ingest::MAX_EVENTS_PER_REQUEST;

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
    /// Events not stored because the organization is over its events quota past the grace
    /// period (answered 202 so trackers do not retry; the dashboard shows the count).
    pub over_quota: u32,
}

#[derive(ApiResponse)]
enum EventResponse {
    /// Stored (committed) — or dropped as a bot; see the report.
    #[oai(status = 202)]
    Accepted(Json<IngestReport>),
}

/// The Events API.
#[derive(Default)]
pub struct IngestApi;

#[OpenApi(tag = "ApiTags::Ingestion")]
impl IngestApi {
    /// Record pageviews and custom events (Plausible-compatible). Answers after the events are
    /// committed; 503 with `Retry-After` when overloaded.
    ///
    /// The body is one event object, or an array of up to 100, as JSON or the same JSON as
    /// text. Fields as in Plausible's Events API: `name`/`n`, `url`/`u`, `domain`/`d` (comma
    /// list allowed), `referrer`/`r`, `props`/`p`, `revenue`/`$` (`{"amount", "currency"}`),
    /// `interactive`/`i`, `hashMode`/`h`, and `timestamp` (RFC 3339 or Unix seconds, within 5
    /// minutes of the server clock).
    #[oai(path = "/api/event", method = "post", operation_id = "send_event")]
    async fn send_event(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: SiteJson,
    ) -> ApiResult<EventResponse> {
        let value = body.into_value()?;
        let items: Vec<Value> = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        if items.is_empty() || items.len() > MAX_EVENTS_PER_REQUEST {
            return Err(ApiError::bad_request(
                ProblemKind::InvalidEvent,
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
                    over_quota: 0,
                })));
            }
            Agent::Human(device) => device,
        };
        let ip =
            client_ip(req, &state.trusted_proxies).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let visitor = Visitor {
            ip,
            user_agent,
            device: &device,
            location: ingest.geo.locate(ip),
        };
        let now = state.clock.now();
        let mut events = Vec::new();
        let mut rejected = Vec::new();
        let mut first_refusal: Option<ProblemKind> = None;
        let mut over_quota = 0;
        for (index, item) in items.iter().enumerate() {
            let mut reject = |kind: ProblemKind, detail: String| {
                first_refusal.get_or_insert(kind);
                Rejection {
                    index: index as u32,
                    kind: format!("{}{kind}", crate::error::PROBLEM_BASE),
                    detail,
                }
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
                let org = OrgId::from_uuid(target.org_id);
                if !ingest.quotas.admits(org, Product::Events) {
                    ingest
                        .quotas
                        .count_dropped(org, Product::Events, now.date_naive(), 1);
                    over_quota += 1;
                    continue;
                }
                events.push(ingest.event_row(&event, &target, &visitor, ts));
            }
            if routed == 0 {
                rejected.push(reject(
                    ProblemKind::UnknownDomain,
                    format!("no project collects for {}", event.domains.join(", ")),
                ));
            }
        }
        if events.is_empty() && over_quota > 0 {
            return Ok(EventResponse::Accepted(Json(IngestReport {
                accepted: 0,
                dropped: 0,
                rejected,
                over_quota,
            })));
        }
        if events.is_empty() {
            let first = rejected
                .first()
                .map(|r| r.detail.clone())
                .unwrap_or_default();
            let kind = first_refusal.unwrap_or(ProblemKind::InvalidEvent);
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
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ProblemKind::Unavailable,
                    detail,
                )
            }
        })?;
        Ok(EventResponse::Accepted(Json(IngestReport {
            accepted,
            dropped: 0,
            rejected,
            over_quota,
        })))
    }
}
