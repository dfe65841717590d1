//! SCIM 2.0 (RFC 7643, 7644) at `/scim/v2/`: an organization's identity provider creates,
//! changes and removes its members and groups with a bearer token an owner made
//! (`scim_<org>_<secret>`; `routes::scim_tokens`).
//!
//! SCIM is its own protocol, so these endpoints are plain poem handlers outside the OpenAPI
//! document, answer `application/scim+json`, and fail with SCIM's error format
//! (`urn:ietf:params:scim:api:messages:2.0:Error`, with `scimType`). Each request is
//! authenticated in its organization's scope, then does its work in one transaction whose
//! actor is `scim_token:<id>`, so every change is in the audit log like any other.
//!
//! The provider's view of a person or group is kept as the resource it sent
//! ([`resource`]); Beacon's membership follows it ([`provision`]): an active person is a
//! member with the role their groups map to (the SSO mapping) or the connection's default;
//! `active: false` or a delete removes the membership and revokes their sessions and API keys
//! in the same request.

pub mod discovery;
pub mod groups;
pub mod patch;
pub mod provision;
pub mod resource;
pub mod users;

use poem::http::StatusCode;
use poem::{IntoResponse, Request, Response, Route, get};
use serde_json::{Value, json};
use tenant::audit::RequestContext;
use tenant::{Actor, DbError, OrgId};
use uuid::Uuid;

use crate::state::AppState;

/// SCIM's media type.
pub const SCIM_JSON: &str = "application/scim+json";
/// The error message schema.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The list response schema.
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Most resources one list answers.
pub const MAX_RESULTS: i64 = 200;

/// A SCIM failure: its HTTP status, SCIM's `scimType` when it has one, and the detail.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidPath"), detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidFilter"), detail)
    }

    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("noTarget"), detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, format!("no such {what}"))
    }

    /// 401.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, None, detail)
    }

    /// 500; the cause goes to the log, not to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "SCIM request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
    }
}

impl From<DbError> for ScimError {
    fn from(error: DbError) -> Self {
        Self::internal(error)
    }
}

impl From<tenant::diesel::result::Error> for ScimError {
    fn from(error: tenant::diesel::result::Error) -> Self {
        Self::internal(error)
    }
}

impl From<crate::error::ApiError> for ScimError {
    fn from(error: crate::error::ApiError) -> Self {
        Self::new(error.status, None, error.detail)
    }
}

impl poem::error::ResponseError for ScimError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_URN],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(kind) = self.scim_type {
            body["scimType"] = kind.into();
        }
        scim_json(self.status, &body)
    }
}

/// A SCIM answer.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .content_type(SCIM_JSON)
        .body(body.to_string())
}

/// 201 with `resource` and its `Location`.
pub fn created(resource: &Value) -> Response {
    let mut response = scim_json(StatusCode::CREATED, resource);
    if let Some(location) = resource["meta"]["location"].as_str()
        && let Ok(value) = location.parse()
    {
        response
            .headers_mut()
            .insert(poem::http::header::LOCATION, value);
    }
    response
}

/// An authenticated SCIM client: its organization and token, and what its writes record.
pub struct Client {
    /// The organization.
    pub org: OrgId,
    /// The token.
    pub token_id: Uuid,
    /// Request id, IP and user agent for the audit log.
    pub context: RequestContext,
    /// Where resources live (`<public url>/scim/v2`).
    pub base: String,
}

impl Client {
    /// Who acts.
    pub fn actor(&self) -> Actor {
        Actor::ScimToken(self.token_id)
    }
}

/// Authenticates `req`'s bearer token in its organization's scope: 401 for a missing, bad or
/// revoked token; 403 when the organization's plan lacks SCIM.
pub async fn authenticate(req: &Request) -> Result<(&AppState, Client), ScimError> {
    let state = crate::auth::state_of(req).map_err(ScimError::from)?;
    let token = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ScimError::unauthorized("send the SCIM token as `Authorization: Bearer scim_…`")
        })?;
    let invalid = || ScimError::unauthorized("the SCIM token is invalid or has been revoked");
    let (org, secret) = tenant::tables::scim::parse(token.trim()).ok_or_else(invalid)?;
    let now = state.clock.now();
    let (token, entitlements) = state
        .db
        .scoped(org, async |conn| {
            let token = tenant::tables::scim::authenticate(conn, org, secret).await?;
            let entitlements = state.billing.entitlements(conn, org, now).await?;
            Ok::<_, ScimError>((token, entitlements))
        })
        .await?;
    let token = token.ok_or_else(invalid)?;
    if let Err(refusal) = entitlements.require(billing::Feature::Scim) {
        return Err(ScimError::forbidden(refusal.to_string()));
    }
    let base = format!("{}/scim/v2", state.app_url(req).unwrap_or_default());
    Ok((
        state,
        Client {
            org,
            token_id: token.token_id,
            context: crate::scope::request_context(req, state),
            base,
        },
    ))
}

/// Reads a JSON body: 400 `invalidSyntax` when it is not JSON.
pub async fn json_body(body: poem::Body) -> Result<Value, ScimError> {
    let raw = body
        .into_vec()
        .await
        .map_err(|e| ScimError::invalid_syntax(format!("could not read the body: {e}")))?;
    serde_json::from_slice(&raw).map_err(|e| ScimError::invalid_syntax(format!("not JSON: {e}")))
}

#[poem::handler]
async fn unknown() -> ScimError {
    ScimError::not_found("SCIM endpoint")
}

/// `POST /.search` at the root: users and groups together, each type searched when the filter
/// names one of its attributes (or there is none).
#[poem::handler]
async fn search_all(req: &Request, body: poem::Body) -> Result<Response, ScimError> {
    let (state, client) = authenticate(req).await?;
    let params = resource::ListParams::from_search(&json_body(body).await?)?;
    let mut resources = users::search_values(state, &client, &params)
        .await
        .unwrap_or_default();
    resources.extend(
        groups::search_values(state, &client, &params)
            .await
            .unwrap_or_default(),
    );
    let total = i64::try_from(resources.len()).unwrap_or(i64::MAX);
    let page: Vec<Value> = resources
        .into_iter()
        .skip(usize::try_from(params.offset).unwrap_or(0))
        .take(usize::try_from(params.count).unwrap_or(0))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &params.list_response(page, total),
    ))
}

/// The SCIM routes, to nest at `/scim/v2`.
pub fn routes() -> Route {
    Route::new()
        .at(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .at("/ResourceTypes", get(discovery::resource_types))
        .at("/ResourceTypes/:name", get(discovery::resource_type_one))
        .at("/Schemas", get(discovery::schemas))
        .at("/Schemas/:id", get(discovery::schema_one))
        .at("/Users", get(users::list).post(users::create))
        .at("/Users/.search", poem::post(users::search))
        .at(
            "/Users/:id",
            get(users::read)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .at("/Groups", get(groups::list).post(groups::create))
        .at("/Groups/.search", poem::post(groups::search))
        .at(
            "/Groups/:id",
            get(groups::read)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .at("/.search", poem::post(search_all))
        .at("/*rest", unknown)
}
