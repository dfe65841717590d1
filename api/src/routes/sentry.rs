//! `POST /api/{ingest_id}/envelope/` and `POST /api/{ingest_id}/store/`: what Sentry's SDKs
//! send, unchanged. Plain poem handlers, because the Node SDK sends no `Content-Type`.
//!
//! A request is authenticated by the project's public key from the query (`sentry_key`), the
//! `X-Sentry-Auth` (or `Authorization: Sentry …`) header, or the envelope header's `dsn`. Every
//! event of a request is stored in one transaction, or none is: the SDK sees 200 only after
//! the commit (of the group-commit batch the request joined, [`tenant::errors::writer`]). Items other than events (sessions, client reports, transactions, attachments,
//! …) are accepted and counted in `beacon_envelope_items_total`, not stored.

use chrono::Utc;
use poem::http::{HeaderMap, StatusCode, header};
use poem::web::{Data, Path};
use poem::{Body, IntoResponse, Request, Response, handler};
use serde_json::{Value, json};
use tenant::OrgId;
use tenant::errors::envelope::{self, Envelope};
use tenant::errors::event::{self, Event};
use tenant::errors::record::{self, RecordError};
use tenant::errors::writer::{ErrorEvents, StoreError};
use tenant::ingest::body::{BodyError, decode};
use tenant::ingest::enrich::{Agent, Device, visitor_id};
use tenant::ingest::router::DsnTarget;
use tenant::problem::ProblemKind;
use tenant::tables::usage::Product;

use crate::auth::client_ip::client_ip;
use crate::auth::throttle::Limit;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest request body on the wire (compressed or not).
pub const MAX_WIRE_BYTES: usize = 1024 * 1024;
/// Largest body once decompressed.
pub const MAX_DECODED_BYTES: usize = 4 * 1024 * 1024;
/// Largest event payload.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// Seconds an SDK is told to wait when its project is over its rate.
const RETRY_AFTER_SECONDS: u64 = 60;

/// How an error request failed, as a problem (and, when limited, the SDK's back-off headers).
fn problem(status: StatusCode, kind: ProblemKind, detail: impl Into<String>) -> ApiError {
    ApiError::new(status, kind, detail)
}

/// The `sentry_key` a request carries in its query or headers, if any.
fn key_from_request(req: &Request) -> Option<String> {
    let from_query = req.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "sentry_key")
            .map(|(_, value)| value.into_owned())
    });
    from_query.or_else(|| key_from_headers(req.headers()))
}

fn key_from_headers(headers: &HeaderMap) -> Option<String> {
    for name in ["x-sentry-auth", "authorization"] {
        let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let Some(rest) = value
            .get(..7)
            .filter(|prefix| prefix.eq_ignore_ascii_case("sentry "))
            .map(|_| &value[7..])
        else {
            continue;
        };
        for part in rest.split(',') {
            if let Some((key, value)) = part.trim().split_once('=')
                && key.trim() == "sentry_key"
            {
                return Some(value.trim().to_owned());
            }
        }
    }
    None
}

/// The public key and project id of a DSN in an envelope header.
fn key_from_dsn(dsn: &str) -> Option<(String, String)> {
    let url = url::Url::parse(dsn).ok()?;
    let project = url.path_segments()?.rfind(|s| !s.is_empty())?.to_owned();
    Some((url.username().to_owned(), project))
}

async fn target(state: &AppState, ingest_id: &str) -> Result<DsnTarget, ApiError> {
    let unknown = || {
        problem(
            StatusCode::NOT_FOUND,
            ProblemKind::UnknownProject,
            format!(
                "no project has the DSN id {:?}",
                event::truncate(ingest_id, 40)
            ),
        )
    };
    let id: i64 = ingest_id.parse().map_err(|_| unknown())?;
    state.ingest.router.route_dsn(id).await?.ok_or_else(unknown)
}

fn check_key(target: &DsnTarget, sent: Option<&str>) -> Result<(), ApiError> {
    match sent {
        None => Err(problem(
            StatusCode::UNAUTHORIZED,
            ProblemKind::MissingKey,
            "send the DSN's public key as `sentry_key` (query or X-Sentry-Auth)",
        )),
        Some(key) if key != target.public_key => Err(problem(
            StatusCode::UNAUTHORIZED,
            ProblemKind::InvalidKey,
            "the key does not belong to this project's DSN",
        )),
        Some(_) => Ok(()),
    }
}

fn decoded_body(req: &Request, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let encoding = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    decode(encoding, body, MAX_DECODED_BYTES).map_err(|error| match error {
        BodyError::TooLarge(max) => problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::PayloadTooLarge,
            format!("the body is over {max} bytes once decompressed"),
        ),
        BodyError::UnsupportedEncoding(name) => problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::UnsupportedEncoding,
            format!("Content-Encoding {name:?} is not supported (use gzip, deflate or br)"),
        ),
        BodyError::Corrupt(reason) => problem(
            StatusCode::BAD_REQUEST,
            ProblemKind::UnreadableBody,
            format!("the body is not valid for its Content-Encoding: {reason}"),
        ),
    })
}

fn parse_event(payload: &[u8], envelope_event_id: Option<&Value>) -> Result<Event, ApiError> {
    if payload.len() > MAX_EVENT_BYTES {
        return Err(problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::PayloadTooLarge,
            format!("an event is over {MAX_EVENT_BYTES} bytes"),
        ));
    }
    event::normalize(payload, envelope_event_id, Utc::now())
        .map_err(|error| problem(StatusCode::BAD_REQUEST, ProblemKind::InvalidEvent, error.0))
}

/// What the user agent says about the sender's browser (the browser SDK sends no browser or
/// OS context): from the event's `request.headers`, else, for browser events, the request's.
fn agent_device(state: &AppState, req: &Request, event: &Event) -> Option<Device> {
    let agent = event
        .rest
        .get("request")
        .and_then(|r| r.get("headers"))
        .and_then(|h| h.get("User-Agent").or_else(|| h.get("user-agent")))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            (event.platform.as_deref() == Some("javascript"))
                .then(|| {
                    req.headers()
                        .get(header::USER_AGENT)?
                        .to_str()
                        .ok()
                        .map(str::to_owned)
                })
                .flatten()
        })?;
    match state.ingest.agents.classify(&agent) {
        Agent::Human(device) => Some(device),
        Agent::Bot => None,
    }
}

/// The salted visitor id of the browser that sent the request, as the tracker and the replay
/// recorder compute it (the project's current salt, the client IP, the request's user agent):
/// what links a browser error to the recording it happened in. The IP is used only here.
async fn browser_visitor(
    state: &AppState,
    req: &Request,
    target: &DsnTarget,
) -> Result<Option<i64>, ApiError> {
    let (Some(ip), Some(agent)) = (
        client_ip(req, &state.trusted_proxies),
        req.headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    ) else {
        return Ok(None);
    };
    let salt = state.ingest.router.salt(target.project_id).await?;
    Ok(salt.map(|salt| visitor_id(&salt, target.project_id, ip, agent)))
}

/// Over the project's rate: the SDK's back-off answer.
fn rate_limited(retry_after: u64) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ProblemKind::TooManyRequests,
        "this project's error events per minute are used up; the SDK will retry later",
    )
    .into_response();
    let headers = response.headers_mut();
    if let Ok(value) = retry_after.to_string().parse() {
        headers.insert(header::RETRY_AFTER, value);
    }
    if let Ok(value) = format!("{retry_after}:error;default:project:rate_limited").parse() {
        headers.insert("x-sentry-rate-limits", value);
    }
    response
}

/// Seconds an SDK is told to wait when its organization is over its error quota (the quota
/// lifts with a new billing period or a plan change, not in seconds).
const OVER_QUOTA_RETRY_SECONDS: u64 = 300;

/// Over the organization's error quota past the grace period: Sentry's answer for an exhausted
/// quota, naming the `error` category only (other products are unaffected).
fn over_quota() -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ProblemKind::QuotaExceeded,
        "this organization's error event quota is used up; events are not stored until the plan \
         or the billing period changes",
    )
    .into_response();
    let headers = response.headers_mut();
    if let Ok(value) = OVER_QUOTA_RETRY_SECONDS.to_string().parse() {
        headers.insert(header::RETRY_AFTER, value);
    }
    if let Ok(value) =
        format!("{OVER_QUOTA_RETRY_SECONDS}:error:organization:usage_exceeded").parse()
    {
        headers.insert("x-sentry-rate-limits", value);
    }
    response
}

/// The problem of events that could not be recorded.
fn record_problem(error: RecordError) -> ApiError {
    match error {
        // The project was deleted after its DSN was looked up (and cached).
        RecordError::UnknownProject => problem(
            StatusCode::NOT_FOUND,
            ProblemKind::UnknownProject,
            "the project was deleted",
        ),
        RecordError::Db(error) => ApiError::from(error),
    }
}

/// Stores `events` for `target`: symbolicated (from the cache of source maps, else with a
/// short read) and prepared on this request's task, then group-committed with whatever other
/// requests queued meanwhile. Returns after the commit.
async fn store(
    state: &AppState,
    target: &DsnTarget,
    mut events: Vec<(Event, Option<Device>)>,
) -> Result<(), ApiError> {
    let source_maps = &state.ingest.source_maps;
    // Events whose source maps are not all cached (an untouched event is mapped below).
    let uncached: Vec<usize> = (0..events.len())
        .filter(|&i| {
            let event = &mut events[i].0;
            let release = event.release.as_deref();
            source_maps
                .apply_cached(target.project_id, release, &mut event.exceptions)
                .is_none()
        })
        .collect();
    if !uncached.is_empty() {
        let org = OrgId::from_uuid(target.org_id);
        events = state
            .db
            .scoped(org, async move |conn| {
                for i in uncached {
                    let event = &mut events[i].0;
                    let release = event.release.as_deref();
                    source_maps
                        .apply(
                            conn,
                            target.org_id,
                            target.project_id,
                            release,
                            &mut event.exceptions,
                        )
                        .await?;
                }
                Ok::<_, RecordError>(events)
            })
            .await
            .map_err(record_problem)?;
    }
    let events = events
        .into_iter()
        .map(|(event, device)| record::prepare(target, event, device.as_ref()))
        .collect();
    let batch = ErrorEvents {
        events,
        public_url: state.public_url.clone().unwrap_or_default(),
        now: state.clock.now(),
    };
    state
        .ingest
        .errors
        .write(batch)
        .await
        .map_err(|error| match error {
            StoreError::Overloaded => ApiError {
                retry_after: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ProblemKind::Unavailable,
                    "error ingestion is at capacity; retry shortly",
                )
            },
            StoreError::Record(error) => record_problem(error),
        })
}

/// Takes the events of a request: checks the rate, stores them, answers the SDK.
async fn accept(
    state: &AppState,
    req: &Request,
    target: &DsnTarget,
    events: Vec<Event>,
    first_id: Option<uuid::Uuid>,
) -> Result<Response, ApiError> {
    let org = OrgId::from_uuid(target.org_id);
    if !events.is_empty() && !state.ingest.quotas.admits(org, Product::Errors) {
        let day = state.clock.now().date_naive();
        state
            .ingest
            .quotas
            .count_dropped(org, Product::Errors, day, events.len() as i64);
        for _ in &events {
            state.metrics.envelope_item("event", "over_quota");
        }
        return Ok(over_quota());
    }
    if !events.is_empty() {
        let limit = Limit {
            name: "error-events",
            max: u32::try_from(target.events_per_minute).unwrap_or(1),
            window: std::time::Duration::from_secs(60),
        };
        let key = target.project_id.to_string();
        // Counted as they are checked (one atomic step each), so concurrent envelopes cannot
        // all pass a check made before any of them is counted.
        for taken in 0..events.len() {
            if let Err(wait) = state.throttle.reserve(&limit, &key) {
                for _ in 0..taken {
                    state.throttle.release(&limit, &key);
                }
                for _ in &events {
                    state.metrics.envelope_item("event", "rate_limited");
                }
                return Ok(rate_limited(wait.clamp(1, RETRY_AFTER_SECONDS)));
            }
        }
        let count = events.len();
        let visitor = browser_visitor(state, req, target).await?;
        let events = events
            .into_iter()
            .map(|mut event| {
                let device = agent_device(state, req, &event);
                if event.platform.as_deref() == Some("javascript") {
                    event.visitor_id = visitor;
                }
                (event, device)
            })
            .collect();
        store(state, target, events).await?;
        for _ in 0..count {
            state.metrics.envelope_item("event", "stored");
        }
    }
    let body = match first_id {
        Some(id) => json!({ "id": id.simple().to_string() }),
        None => json!({}),
    };
    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type("application/json")
        .body(body.to_string()))
}

/// `POST /api/{ingest_id}/envelope/`.
#[handler]
pub async fn envelope_endpoint(
    req: &Request,
    state: Data<&AppState>,
    Path(ingest_id): Path<String>,
    body: Body,
) -> poem::Result<Response> {
    let target = target(&state, &ingest_id).await?;
    let sent_key = key_from_request(req);
    if let Some(key) = &sent_key {
        check_key(&target, Some(key))?;
    }
    let raw = body.into_vec().await.map_err(|error| {
        problem(
            StatusCode::BAD_REQUEST,
            ProblemKind::UnreadableBody,
            format!("could not read the body: {error}"),
        )
    })?;
    let decoded = decoded_body(req, &raw)?;
    let Envelope { header, items } = envelope::parse(&decoded).map_err(|error| {
        problem(
            StatusCode::BAD_REQUEST,
            ProblemKind::InvalidEnvelope,
            error.0,
        )
    })?;
    if sent_key.is_none() {
        let from_dsn = header
            .get("dsn")
            .and_then(Value::as_str)
            .and_then(key_from_dsn);
        match from_dsn {
            Some((key, project)) if project == ingest_id => check_key(&target, Some(&key))?,
            Some(_) => {
                return Err(problem(
                    StatusCode::UNAUTHORIZED,
                    ProblemKind::InvalidKey,
                    "the envelope's DSN names another project",
                )
                .into());
            }
            None => check_key(&target, None)?,
        }
    }
    let mut events = Vec::new();
    // The header's event id names the envelope's event; with several, each needs its own.
    let single = items.iter().filter(|i| i.kind == "event").count() == 1;
    for item in &items {
        if item.kind == "event" {
            let header_id = header.get("event_id").filter(|_| single);
            events.push(parse_event(item.payload, header_id)?);
        } else {
            state.metrics.envelope_item(&item.kind, "accepted");
        }
    }
    let first_id = events.first().map(|e| e.event_id);
    Ok(accept(&state, req, &target, events, first_id).await?)
}

/// `POST /api/{ingest_id}/store/`: one event, as older SDKs send it.
#[handler]
pub async fn store_endpoint(
    req: &Request,
    state: Data<&AppState>,
    Path(ingest_id): Path<String>,
    body: Body,
) -> poem::Result<Response> {
    let target = target(&state, &ingest_id).await?;
    check_key(&target, key_from_request(req).as_deref())?;
    let raw = body.into_vec().await.map_err(|error| {
        problem(
            StatusCode::BAD_REQUEST,
            ProblemKind::UnreadableBody,
            format!("could not read the body: {error}"),
        )
    })?;
    let decoded = decoded_body(req, &raw)?;
    let event = parse_event(&decoded, None)?;
    let id = event.event_id;
    Ok(accept(&state, req, &target, vec![event], Some(id)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_each_auth_form() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-sentry-auth",
            "Sentry sentry_version=7, sentry_key=abc123, sentry_client=raven-js/3.0"
                .parse()
                .unwrap(),
        );
        assert_eq!(key_from_headers(&headers).as_deref(), Some("abc123"));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "sentry sentry_key=xyz".parse().unwrap());
        assert_eq!(key_from_headers(&headers).as_deref(), Some("xyz"));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer bk_x".parse().unwrap());
        assert_eq!(key_from_headers(&headers), None);
        assert_eq!(
            key_from_dsn("https://pub@beacon.example/sub/42"),
            Some(("pub".into(), "42".into()))
        );
    }
}
