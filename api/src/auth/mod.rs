//! Who is calling, and what they may do in an organization.
//!
//! [`Auth`] is the extractor every protected operation takes. It accepts either an API key as
//! `Authorization: Bearer bk_…` or the `beacon_session` cookie; cookie-authenticated writes must
//! echo the session's CSRF token in `X-CSRF-Token`. [`Auth::org`] then resolves an organization
//! for a required permission and yields the [`OrgAccess`] that handlers pass to the tenant
//! scope: a caller who is not a member gets 404, like a caller asking for something that does
//! not exist.

pub mod client_ip;
pub mod session_cookie;
pub mod throttle;

use poem::Request;
use poem::http::Method;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme};
use tenant::tables::memberships::Role;
use tenant::tables::{api_keys, user_sessions};
use tenant::{DbError, OrgId, UserId};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// API key, sent as `Authorization: Bearer bk_…`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "ApiKey")]
#[allow(dead_code)]
struct BearerScheme(Bearer);

/// Browser session cookie; writes also need the `X-CSRF-Token` header.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "beacon_session",
    key_in = "cookie",
    rename = "SessionCookie"
)]
#[allow(dead_code)]
struct SessionScheme(ApiKey);

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read data.
    Read,
    /// Change data.
    Write,
    /// Send events (ingestion).
    Ingest,
    /// Manage members, invitations and keys.
    Admin,
}

impl Scope {
    /// Parses a stored scope name.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "read" => Self::Read,
            "write" => Self::Write,
            "ingest" => Self::Ingest,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A signed-in user (session cookie).
    User {
        /// The user.
        user_id: UserId,
    },
    /// An organization API key.
    Key {
        /// The key's organization.
        org: OrgId,
        /// The key.
        key_id: Uuid,
        /// Granted scopes.
        scopes: Vec<Scope>,
        /// Projects it is limited to.
        project_ids: Option<Vec<Uuid>>,
    },
}

/// The `Auth` extractor: session cookie or API key.
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

/// The permission an operation needs in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read anything (viewer; key scope read).
    Read,
    /// Change projects and data (member; key scope write).
    Write,
    /// Manage members, invitations and keys (admin; key scope admin).
    Admin,
    /// Delete the organization, manage owners (owner, signed in).
    Owner,
}

/// A caller's resolved access to one organization: the key to its tenant scope.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    /// The organization.
    pub org: OrgId,
    /// Effective role (an API key acts as viewer, member or admin by its scopes).
    pub role: Role,
    /// The signed-in user, when the caller is one.
    pub user_id: Option<UserId>,
    /// Projects an API key is limited to.
    pub project_ids: Option<Vec<Uuid>>,
}

impl OrgAccess {
    /// Whether the caller may see `project_id`.
    pub fn can_see_project(&self, project_id: Uuid) -> bool {
        self.project_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&project_id))
    }
}

impl Auth {
    /// The signed-in user, or 403 for API keys (account operations need a person).
    pub fn user(&self) -> ApiResult<UserId> {
        match &self.0 {
            Caller::User { user_id } => Ok(*user_id),
            Caller::Key { .. } => Err(ApiError::forbidden(
                "this operation needs a signed-in user, not an API key",
            )),
        }
    }

    /// Resolves the caller's access to a project of `org_id` for `need`: 404 when the project
    /// does not exist there or the caller's key is limited to other projects.
    pub async fn project(
        &self,
        state: &AppState,
        org_id: Uuid,
        project_id: Uuid,
        need: Need,
    ) -> ApiResult<(OrgAccess, tenant::tables::projects::Project)> {
        let access = self.org(state, org_id, need).await?;
        if !access.can_see_project(project_id) {
            return Err(ApiError::not_found("project"));
        }
        let project = state
            .db
            .scoped(access.org, async |conn| {
                Ok::<_, DbError>(tenant::tables::projects::find(conn, org_id, project_id).await?)
            })
            .await?
            .ok_or_else(|| ApiError::not_found("project"))?;
        Ok((access, project.project))
    }

    /// Resolves the caller's access to `org_id` and checks it allows `need`.
    pub async fn org(&self, state: &AppState, org_id: Uuid, need: Need) -> ApiResult<OrgAccess> {
        let org = OrgId::from_uuid(org_id);
        let access = match &self.0 {
            Caller::User { user_id } => {
                let user = user_id.uuid();
                let role = state
                    .db
                    .scoped(org, async |conn| {
                        Ok::<_, DbError>(
                            tenant::tables::memberships::role_of(conn, org_id, user).await?,
                        )
                    })
                    .await?
                    .ok_or_else(|| ApiError::not_found("organization"))?;
                OrgAccess {
                    org,
                    role,
                    user_id: Some(*user_id),
                    project_ids: None,
                }
            }
            Caller::Key {
                org: key_org,
                scopes,
                project_ids,
                ..
            } => {
                if *key_org != org {
                    return Err(ApiError::not_found("organization"));
                }
                let role = if scopes.contains(&Scope::Admin) {
                    Role::Admin
                } else if scopes.contains(&Scope::Write) {
                    Role::Member
                } else if scopes.contains(&Scope::Read) {
                    Role::Viewer
                } else {
                    return Err(ApiError::forbidden("this API key has no read scope"));
                };
                if need == Need::Owner {
                    return Err(ApiError::forbidden(
                        "only a signed-in owner can do this; API keys cannot",
                    ));
                }
                OrgAccess {
                    org,
                    role,
                    user_id: None,
                    project_ids: project_ids.clone(),
                }
            }
        };
        let required = match need {
            Need::Read => Role::Viewer,
            Need::Write => Role::Member,
            Need::Admin => Role::Admin,
            Need::Owner => Role::Owner,
        };
        if access.role < required {
            return Err(ApiError::forbidden(format!(
                "this needs the {} role or higher",
                required.as_str()
            )));
        }
        Ok(access)
    }
}

fn state_of(req: &Request) -> ApiResult<&AppState> {
    req.data::<AppState>()
        .ok_or_else(|| ApiError::internal("application state missing"))
}

async fn from_bearer(state: &AppState, token: &str) -> ApiResult<Caller> {
    let invalid = || ApiError::unauthorized("the API key is invalid or has been revoked");
    let (org_id, secret) = api_keys::parse(token).ok_or_else(invalid)?;
    let org = OrgId::from_uuid(org_id);
    let key = state
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(api_keys::authenticate(conn, org_id, secret).await?)
        })
        .await?
        .ok_or_else(invalid)?;
    Ok(Caller::Key {
        org,
        key_id: key.key_id,
        scopes: key.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        project_ids: key.project_ids,
    })
}

async fn from_cookie(state: &AppState, req: &Request, token: &str) -> ApiResult<Caller> {
    let session = state
        .db
        .unscoped(async |conn| Ok::<_, DbError>(user_sessions::find_valid(conn, token).await?))
        .await?
        .ok_or_else(|| ApiError::unauthorized("the session has expired; sign in again"))?;
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|value| value.to_str().ok());
        if sent != Some(session.csrf_token.as_str()) {
            return Err(ApiError::new(
                poem::http::StatusCode::FORBIDDEN,
                "csrf_failed",
                "cookie-authenticated writes need the session's X-CSRF-Token header",
            ));
        }
    }
    Ok(Caller::User {
        user_id: UserId::from_uuid(session.user_id),
    })
}

/// Resolves the caller of `req`, if any credentials were sent.
pub async fn resolve(req: &Request) -> ApiResult<Caller> {
    let state = state_of(req)?;
    if let Some(header) = req.headers().get(poem::http::header::AUTHORIZATION) {
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("expected `Authorization: Bearer <api key>`"))?;
        return from_bearer(state, token.trim()).await;
    }
    if let Some(token) = session_cookie::read(req) {
        return from_cookie(state, req, &token).await;
    }
    Err(ApiError::unauthorized(
        "sign in, or send an API key as `Authorization: Bearer <key>`",
    ))
}

impl<'a> ApiExtractor<'a> for Auth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <BearerScheme as ApiExtractor>::register(registry);
        <SessionScheme as ApiExtractor>::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec!["ApiKey", "SessionCookie"]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut poem::RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(resolve(req).await?))
    }
}
