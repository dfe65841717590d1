//! Who is calling, and what they may do in an organization.
//!
//! [`Auth`] is the extractor every protected operation takes. It accepts either an API key as
//! `Authorization: Bearer bk_…` or the `beacon_session` cookie; cookie-authenticated writes must
//! echo the session's CSRF token in `X-CSRF-Token`. [`Auth::org`] then resolves an organization
//! for a required permission and yields the [`OrgAccess`] that handlers pass to the tenant
//! scope: a caller who is not a member gets 404, like a caller asking for something that does
//! not exist.

pub mod client_ip;
pub mod password_hashing;
pub mod session_cookie;
pub mod throttle;

use poem::Request;
use poem::http::Method;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme};
use tenant::diesel_async::AsyncPgConnection;
use tenant::problem::ProblemKind;
use tenant::tables::memberships::Role;
use tenant::tables::{api_keys, user_sessions};
use tenant::{Actor, OrgId, UserId};
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
        /// The organization whose single sign-on started the session (`None`: a password
        /// sign-in). An organization that requires SSO admits its non-owners only with its own.
        sso_org: Option<OrgId>,
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
    /// 403 unless the caller's role (or key scope) allows `need`.
    pub fn require(&self, need: Need) -> ApiResult<()> {
        let required = match need {
            Need::Read => Role::Viewer,
            Need::Write => Role::Member,
            Need::Admin => Role::Admin,
            Need::Owner => Role::Owner,
        };
        if self.role < required {
            return Err(ApiError::forbidden(format!(
                "this needs the {} role or higher",
                required.as_str()
            )));
        }
        Ok(())
    }

    /// Whether the caller is the signed-in user `made_by` names (an API key made nothing it
    /// can claim, and nobody made what has no maker).
    pub fn made(&self, made_by: Option<Uuid>) -> bool {
        made_by.is_some() && made_by == self.user_id.map(UserId::uuid)
    }

    /// Whether the caller is an admin or an owner (or a key with the `admin` scope).
    pub fn is_admin(&self) -> bool {
        self.role >= Role::Admin
    }

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
        self.0.user()
    }

    /// Resolves the caller's access to `org_id` and checks it allows `need`.
    pub async fn org(&self, state: &AppState, org_id: Uuid, need: Need) -> ApiResult<OrgAccess> {
        let org = OrgId::from_uuid(org_id);
        let member_role = state
            .db
            .scoped(org, async |conn| member_role(conn, org, &self.0).await)
            .await?;
        self.0.access(org, need, member_role)
    }
}

impl Caller {
    /// The signed-in user, or 403 for API keys (some operations need a person).
    pub fn user(&self) -> ApiResult<UserId> {
        match self {
            Self::User { user_id, .. } => Ok(*user_id),
            Self::Key { .. } => Err(ApiError::forbidden(
                "this operation needs a signed-in user, not an API key",
            )),
        }
    }

    /// The signed-in user, `None` for an API key (what a user sees of personal resources,
    /// such as saved segments, a key does not).
    pub fn person(&self) -> Option<UserId> {
        match self {
            Self::User { user_id, .. } => Some(*user_id),
            Self::Key { .. } => None,
        }
    }

    /// Who acts, for the transaction's `app.actor`.
    pub fn actor(&self) -> Actor {
        match self {
            Self::User { user_id, .. } => Actor::User(*user_id),
            Self::Key { key_id, .. } => Actor::ApiKey(*key_id),
        }
    }

    /// The caller's access to `org` if it allows `need`: a user by `member_role` (their
    /// membership there, if any), an API key by its organization and scopes. Not a member, or
    /// another organization's key: 404, as for an organization that does not exist.
    pub fn access(
        &self,
        org: OrgId,
        need: Need,
        member_role: Option<Role>,
    ) -> ApiResult<OrgAccess> {
        let access = match self {
            Caller::User { user_id, .. } => OrgAccess {
                org,
                role: member_role.ok_or_else(|| ApiError::not_found("organization"))?,
                user_id: Some(*user_id),
                project_ids: None,
            },
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
        access.require(need)?;
        Ok(access)
    }
}

/// The caller's role in `org` (on a connection scoped to it): a user's membership, `None` for
/// an API key (its scopes decide). A user who is not an owner and signed in without this
/// organization's single sign-on gets 403 `sso_required` when the organization requires it.
pub async fn member_role(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    caller: &Caller,
) -> ApiResult<Option<Role>> {
    let Caller::User { user_id, sso_org } = caller else {
        return Ok(None);
    };
    match tenant::tables::sso::role_and_enforced(conn, org, *user_id).await? {
        Some((role, true)) if role < Role::Owner && *sso_org != Some(org) => {
            Err(crate::sso::sso_required())
        }
        found => Ok(found.map(|(role, _)| role)),
    }
}

pub(crate) fn state_of(req: &Request) -> ApiResult<&AppState> {
    req.data::<AppState>()
        .ok_or_else(|| ApiError::internal("application state missing"))
}

/// The credentials a request carries, before any lookup.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// `Authorization: Bearer bk_<org>_<secret>`: the key's organization and secret.
    Key {
        /// The organization the key names (a claim until the key is authenticated).
        org: OrgId,
        /// The secret part.
        secret: String,
    },
    /// The `beacon_session` cookie, and whether the request may change data (then it needs
    /// the session's CSRF token).
    Session {
        /// The session token.
        token: String,
        /// The `X-CSRF-Token` header, for writes.
        csrf: Option<String>,
        /// Whether the method changes data.
        writes: bool,
    },
}

impl Credentials {
    /// Reads the credentials of `req`: 401 when there are none or they are malformed.
    pub fn of(req: &Request) -> ApiResult<Self> {
        if let Some(header) = req.headers().get(poem::http::header::AUTHORIZATION) {
            let token = header
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    ApiError::unauthorized("expected `Authorization: Bearer <api key>`")
                })?;
            let (org, secret) = api_keys::parse(token.trim()).ok_or_else(invalid_key)?;
            return Ok(Self::Key {
                org: OrgId::from_uuid(org),
                secret: secret.to_owned(),
            });
        }
        if let Some(token) = session_cookie::read(req) {
            return Ok(Self::Session {
                token,
                csrf: req
                    .headers()
                    .get("x-csrf-token")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned),
                writes: !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS),
            });
        }
        Err(ApiError::unauthorized(
            "sign in, or send an API key as `Authorization: Bearer <key>`",
        ))
    }

    /// Resolves the caller on `conn`, a transaction scoped to the key's organization for a
    /// key (sessions live in a global table, readable from any transaction).
    pub async fn resolve_on(&self, conn: &mut AsyncPgConnection) -> ApiResult<Caller> {
        match self {
            Self::Key { org, secret } => {
                let key = api_keys::authenticate(conn, *org, secret)
                    .await?
                    .ok_or_else(invalid_key)?;
                Ok(Caller::Key {
                    org: *org,
                    key_id: key.key_id,
                    scopes: key.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
                    project_ids: key.project_ids,
                })
            }
            Self::Session {
                token,
                csrf,
                writes,
            } => {
                let session = user_sessions::find_valid(conn, token)
                    .await?
                    .ok_or_else(|| {
                        ApiError::unauthorized("the session has expired; sign in again")
                    })?;
                if *writes && csrf.as_deref() != Some(session.csrf_token.as_str()) {
                    return Err(ApiError::new(
                        poem::http::StatusCode::FORBIDDEN,
                        ProblemKind::CsrfFailed,
                        "cookie-authenticated writes need the session's X-CSRF-Token header",
                    ));
                }
                Ok(Caller::User {
                    user_id: UserId::from_uuid(session.user_id),
                    sso_org: session.sso_org_id.map(OrgId::from_uuid),
                })
            }
        }
    }

    /// Resolves the caller in a transaction of its own.
    pub async fn resolve(&self, state: &AppState) -> ApiResult<Caller> {
        match self {
            Self::Key { org, .. } => {
                state
                    .db
                    .scoped(*org, async |conn| self.resolve_on(conn).await)
                    .await
            }
            Self::Session { .. } => {
                state
                    .db
                    .unscoped(async |conn| self.resolve_on(conn).await)
                    .await
            }
        }
    }
}

fn invalid_key() -> ApiError {
    ApiError::unauthorized("the API key is invalid or has been revoked")
}

/// Resolves the caller of `req`, if any credentials were sent.
pub async fn resolve(req: &Request) -> ApiResult<Caller> {
    let state = state_of(req)?;
    Credentials::of(req)?.resolve(state).await
}

/// Registers the two security schemes (API key, session cookie) an authenticated operation
/// accepts, for the OpenAPI document.
pub fn register_security(registry: &mut Registry) {
    <BearerScheme as ApiExtractor>::register(registry);
    <SessionScheme as ApiExtractor>::register(registry);
}

/// The security scheme names an authenticated operation lists.
pub fn security_scheme_names() -> Vec<&'static str> {
    vec!["ApiKey", "SessionCookie"]
}

impl<'a> ApiExtractor<'a> for Auth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_security(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        security_scheme_names()
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut poem::RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(resolve(req).await?))
    }
}
