//! `ApiError`: every failure the API answers, as RFC 9457 `application/problem+json`.
//!
//! Each error has a stable snake_case `type` (`https://beacon.dev/problems/<type>`) that clients
//! may match on, a human `title`, and a `detail` for this occurrence. A 500 says nothing
//! internal; its cause goes to the log under the request id.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};
use tenant::DbError;
use tenant::problem::ProblemKind;

/// Prefix of every problem `type`.
pub const PROBLEM_BASE: &str = "https://beacon.dev/problems/";

/// The problem document.
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// URI naming the kind of problem; stable.
    #[oai(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Request id, as in the `X-Request-Id` header and the logs.
    #[oai(skip_serializing_if_is_none)]
    pub instance: Option<String>,
}

/// An API failure.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable kind (the problem `type`'s last segment).
    pub kind: ProblemKind,
    /// Human detail.
    pub detail: String,
    /// Seconds to wait before retrying (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error of `kind` with `status`.
    pub fn new(status: StatusCode, kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, kind, detail)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ProblemKind::Unauthorized, detail)
    }

    /// 403: authenticated, not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ProblemKind::Forbidden, detail)
    }

    /// 403 with a specific kind.
    pub fn forbidden_kind(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, kind, detail)
    }

    /// 404: no such resource (also what another tenant's resources look like).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ProblemKind::NotFound,
            format!("{what} not found"),
        )
    }

    /// 409: conflicts with the current state.
    pub fn conflict(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, kind, detail)
    }

    /// 422: well-formed but invalid.
    pub fn invalid(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, kind, detail)
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ProblemKind::TooManyRequests,
                "too many attempts; retry later",
            )
        }
    }

    /// 500, logging the cause; the client learns nothing internal.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::Internal,
            "an internal error occurred; it has been logged",
        )
    }

    /// The problem document for this error.
    pub fn problem(&self, instance: Option<String>) -> Problem {
        Problem {
            kind: format!("{PROBLEM_BASE}{}", self.kind),
            title: title_of(self.status),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            instance,
        }
    }
}

fn title_of(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("Error").to_owned()
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.kind, self.detail)
    }
}

impl From<tenant::problem::Invalid> for ApiError {
    fn from(invalid: tenant::problem::Invalid) -> Self {
        Self::bad_request(invalid.kind, invalid.detail)
    }
}

impl From<billing::Refusal> for ApiError {
    /// A plan gate's refusal: 402 Payment Required, naming the plan that allows it.
    fn from(refusal: billing::Refusal) -> Self {
        Self::new(StatusCode::PAYMENT_REQUIRED, refusal.kind, refusal.detail)
    }
}

impl From<billing::gates::GateError> for ApiError {
    fn from(error: billing::gates::GateError) -> Self {
        match error {
            billing::gates::GateError::Refused(refusal) => refusal.into(),
            billing::gates::GateError::Db(error) => error.into(),
        }
    }
}

impl From<billing::stripe::StripeFailure> for ApiError {
    /// Stripe failed or could not be reached: 502, the cause in the log only.
    fn from(failure: billing::stripe::StripeFailure) -> Self {
        tracing::error!(error = %failure, "a call to Stripe failed");
        Self::new(
            StatusCode::BAD_GATEWAY,
            ProblemKind::PaymentProviderError,
            "the payment provider could not be reached or refused the request; try again shortly",
        )
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Pool(_) => {
                tracing::error!(error = %error, "database pool exhausted");
                Self {
                    retry_after: Some(1),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        ProblemKind::Unavailable,
                        "the database is busy; retry shortly",
                    )
                }
            }
            DbError::Query(tenant::diesel::result::Error::DatabaseError(kind, info)) => {
                use tenant::diesel::result::DatabaseErrorKind as Kind;
                match kind {
                    // Input the handlers' own checks should have caught; still the caller's
                    // fault, never a 500. The constraint name says which rule, not the values.
                    Kind::CheckViolation | Kind::NotNullViolation => Self::invalid(
                        ProblemKind::InvalidValue,
                        format!(
                            "a value breaks the rule {}",
                            info.constraint_name().unwrap_or("of this field")
                        ),
                    ),
                    Kind::UniqueViolation => Self::conflict(
                        ProblemKind::Conflict,
                        "this conflicts with an existing record",
                    ),
                    // SQLSTATE 22021 (e.g. a NUL byte in text): bad input that slipped through.
                    _ if info.message().starts_with("invalid byte sequence") => Self::bad_request(
                        ProblemKind::InvalidRequest,
                        "a text value contains bytes PostgreSQL cannot store (such as NUL)",
                    ),
                    _ => Self::internal(info.message()),
                }
            }
            DbError::Query(error) => Self::internal(error),
        }
    }
}

impl From<tenant::diesel::result::Error> for ApiError {
    fn from(error: tenant::diesel::result::Error) -> Self {
        DbError::from(error).into()
    }
}

/// Renders a problem response.
pub fn problem_response(error: &ApiError, request_id: Option<String>) -> Response {
    let body = serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(
        &error.problem(request_id),
    ))
    .unwrap_or_default();
    let mut response = Response::builder()
        .status(error.status)
        .content_type("application/problem+json")
        .body(body);
    if let Some(seconds) = error.retry_after {
        response.headers_mut().insert(
            poem::http::header::RETRY_AFTER,
            poem::http::HeaderValue::from(seconds),
        );
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(&self, None)
    }
}

impl From<ApiError> for poem::Error {
    fn from(error: ApiError) -> Self {
        let mut err = poem::Error::from_response(error.clone().into_response());
        err.set_error_message(error.to_string());
        err
    }
}

/// Statuses any operation may answer with a problem.
const STATUSES: &[(u16, &str)] = &[
    (
        400,
        "Malformed request (bad JSON, unknown field value, bad parameter).",
    ),
    (401, "Missing, invalid or revoked credentials."),
    (
        402,
        "The organization's plan does not include this, or its limit is reached.",
    ),
    (403, "Authenticated but not allowed (role, scope, CSRF)."),
    (
        404,
        "No such resource, or it belongs to another organization.",
    ),
    (
        409,
        "Conflicts with the current state (duplicate, last owner).",
    ),
    (413, "Request body over the size limit."),
    (
        415,
        "The body's Content-Type is not one the operation takes (JSON, mostly).",
    ),
    (422, "Well-formed but invalid values."),
    (429, "Throttled; see Retry-After."),
    (
        500,
        "Internal error; details are in the server log under the request id.",
    ),
    (503, "Temporarily unavailable; see Retry-After."),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: STATUSES
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/problem+json",
                        schema: MetaSchemaRef::Reference(Problem::name().into_owned()),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Result of an API operation.
pub type ApiResult<T> = Result<T, ApiError>;
