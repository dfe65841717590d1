//! Request plumbing around every route: request id and its log span, body size limit,
//! problem+json for every error, metrics, and an access log line without personal data.
//! Every response says `X-Content-Type-Options: nosniff`, so a browser never runs an answer
//! (say, JSON echoing a value a caller chose) as something its content type does not say.

use std::time::Instant;
use tenant::problem::ProblemKind;

use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use tracing::Instrument;

use std::sync::Arc;

use crate::error::{ApiError, problem_response};
use crate::metrics::Metrics;

/// Header carrying the request id.
pub const REQUEST_ID: &str = "x-request-id";

/// Wraps `ep` with the plumbing.
pub fn around<E: Endpoint>(ep: E, max_body: usize, metrics: Arc<Metrics>) -> Plumbing<E> {
    Plumbing {
        inner: ep,
        max_body,
        metrics,
    }
}

/// The wrapped endpoint.
pub struct Plumbing<E> {
    inner: E,
    max_body: usize,
    metrics: Arc<Metrics>,
}

impl<E: Endpoint> Endpoint for Plumbing<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        handle(&self.inner, req, self.max_body, &self.metrics).await
    }
}

/// The request's id, in the request's extensions for whatever records it (audit records).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn request_id_of(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

async fn handle<E: Endpoint>(
    ep: &E,
    mut req: Request,
    max_body: usize,
    metrics: &Metrics,
) -> poem::Result<Response> {
    let started = Instant::now();
    let request_id = request_id_of(&req);
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %request_id);
    // The URI outlives the request (kept for a 405's `Allow`); cloning it shares its bytes.
    let uri = req.uri().clone();
    let path = uri.path();
    let error_ingest = is_error_ingest(path);
    let cross_origin = path == INGEST_PATH
        || path == VITALS_PATH
        || path == crate::routes::replay::UPLOAD_PATH
        || path == crate::routes::replay::CONFIG_PATH
        || path == crate::routes::heatmaps::REPORT_PATH
        || error_ingest;
    // Error envelopes carry stack traces and breadcrumbs: a larger limit of their own (and a
    // cap again after decompression, in the handler).
    let max_body = if error_ingest {
        crate::routes::sentry::MAX_WIRE_BYTES
    } else if path == crate::routes::replay::UPLOAD_PATH {
        // A replay chunk holds a page's whole DOM (its full snapshot).
        crate::routes::replay::MAX_WIRE_BYTES
    } else if path == crate::routes::billing::WEBHOOK_PATH {
        // Stripe's events carry whole objects (an invoice with its lines).
        crate::routes::billing::MAX_WEBHOOK_BYTES
    } else if req.method() == Method::POST
        && path.starts_with("/api/v1/sso/saml/")
        && path.ends_with("/acs")
    {
        // SAML responses with many attributes (groups) outgrow the default.
        crate::routes::saml_login::MAX_ACS_BYTES
    } else if req.method() == Method::PUT
        && path.starts_with("/api/v1/orgs/")
        && path.ends_with("/sso/saml")
    {
        // A pasted IdP metadata document (its JSON escaping included).
        crate::routes::saml::MAX_SAVE_BYTES
    } else if req.method() == Method::PUT
        && path.contains("/releases/")
        && path.ends_with("/files")
        && (req.headers().contains_key("authorization") || req.headers().contains_key("cookie"))
    {
        // Source maps of large bundles (only for requests that carry credentials; the handler
        // checks them).
        crate::routes::releases::MAX_RELEASE_FILE_BYTES
    } else {
        max_body
    };
    req.extensions_mut().insert(RequestId(request_id.clone()));
    if cross_origin && req.method() == Method::OPTIONS {
        return Ok(nosniff(with_cors(
            Response::builder().status(StatusCode::NO_CONTENT).finish(),
        )));
    }
    let mut response = async {
        if let Err(error) = limit_body(&mut req, max_body).await {
            return problem_response(&error, Some(request_id.clone()));
        }
        match ep.call(req).await {
            Ok(output) => output.into_response(),
            Err(error) => error_response(error, &request_id),
        }
    }
    .instrument(span.clone())
    .await;
    let route = response
        .data::<OperationId>()
        .map(|id| id.0)
        .unwrap_or("unmatched");
    let status = response.status();
    if status == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(poem::http::header::ALLOW)
        && let Some(allow) = crate::spec::allowed_methods(path)
        && let Ok(value) = HeaderValue::from_str(&allow)
    {
        response
            .headers_mut()
            .insert(poem::http::header::ALLOW, value);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if cross_origin {
        response = with_cors(response);
    }
    response = nosniff(response);
    let elapsed = started.elapsed();
    // Only standard methods become label values; anything else would grow the series without
    // bound.
    let method_label = match method {
        Method::GET
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::HEAD
        | Method::OPTIONS => method.as_str(),
        _ => "other",
    };
    metrics.observe(route, method_label, status.as_str(), elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            route,
            method = method_label,
            status = status.as_u16(),
            ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    Ok(response)
}

/// The ingestion endpoint, called from every site's pages: open to any origin, without
/// credentials. (The rest of the API is same-origin only.)
const INGEST_PATH: &str = "/api/event";

/// The Web Vitals endpoint, called from sites' pages like the event endpoint.
const VITALS_PATH: &str = "/api/vitals";

/// Whether `path` is a Sentry ingestion endpoint: `/api/{digits}/envelope/` or `…/store/`
/// (trailing slash optional). Open to any origin, like the event endpoint.
pub fn is_error_ingest(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/") else {
        return false;
    };
    let Some((id, endpoint)) = rest.split_once('/') else {
        return false;
    };
    !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && matches!(endpoint, "envelope" | "envelope/" | "store" | "store/")
}

fn nosniff(mut response: Response) -> Response {
    response.headers_mut().insert(
        poem::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn with_cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("POST, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static(
            "content-type, content-encoding, x-sentry-auth, authorization, sentry-trace, baggage",
        ),
    );
    // Without this the browser SDK cannot read the rate limits and would not back off.
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("x-sentry-rate-limits, retry-after"),
    );
    headers.insert("access-control-max-age", HeaderValue::from_static("86400"));
    response
}

/// Refuses bodies over `max` bytes: by `Content-Length` before reading, and by counting while
/// reading when the length is not declared.
async fn limit_body(req: &mut Request, max: usize) -> Result<(), ApiError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::PayloadTooLarge,
            format!("the request body is over the {max}-byte limit"),
        )
    };
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large());
    }
    let body = req.take_body();
    let bytes = body
        .into_bytes_limit(max)
        .await
        .map_err(|error| match error {
            poem::error::ReadBodyError::PayloadTooLarge => too_large(),
            other => ApiError::bad_request(
                ProblemKind::UnreadableBody,
                format!("could not read the body: {other}"),
            ),
        })?;
    req.set_body(Body::from_bytes(bytes));
    Ok(())
}

/// Turns any error (parse failures, unknown routes, handler errors) into problem+json, except
/// errors that already are one (or SCIM's).
fn error_response(error: poem::Error, request_id: &str) -> Response {
    let status = error.status();
    let message = error.to_string();
    let response = error.into_response();
    // Problem documents, and SCIM's own error format (`/scim/v2`), stand as they are.
    let is_problem = response
        .headers()
        .get(poem::http::header::CONTENT_TYPE)
        .is_some_and(|value| {
            value.as_bytes() == b"application/problem+json"
                || value.as_bytes() == crate::scim::SCIM_JSON.as_bytes()
        });
    if is_problem {
        return response;
    }
    let problem = match status {
        StatusCode::NOT_FOUND => ApiError::new(status, ProblemKind::NotFound, "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            ProblemKind::MethodNotAllowed,
            "this endpoint does not take that method",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            ProblemKind::UnsupportedMediaType,
            "unsupported content type: send JSON as application/json (the event endpoint also \
             takes text/plain)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            ProblemKind::PayloadTooLarge,
            "the request body is too large",
        ),
        status if status.is_client_error() => {
            ApiError::new(status, ProblemKind::InvalidRequest, message)
        }
        _ => ApiError::internal(message),
    };
    problem_response(&problem, Some(request_id.to_owned()))
}
