//! Scope extractors: the caller, their access to an organization (or one of its projects) and
//! the request's one tenant-scoped transaction, resolved before the handler runs.
//!
//! `OrgScope<Admin>` in a handler's signature means: the path's `org_id` is an organization the
//! caller (session or API key) may administer, and here is an open transaction in which
//! `app.org_id` is that organization and `app.actor` is the caller. The handler finishes it
//! with [`OrgScope::run`]; there is no other way to reach the organization's rows, and no way
//! to forget the check. `ProjectScope<R>` adds the path's `project_id`, loaded in the same
//! transaction (404 when it is not there or an API key is limited to other projects).
//!
//! The credentials are looked up, the role checked and the handler's work done in that single
//! transaction. Exceptions, each with its reason where it stands: the live event stream (a
//! long-lived response), an API key used on another organization's path (its key is checked in
//! its own organization first, to answer 401 for a bad key and 404 for a good one, as before).
//!
//! Put the scope **last** in the handler's parameters: poem-openapi extracts in order, so the
//! body is read before a pooled connection is taken, and a slow upload holds no connection.

use std::marker::PhantomData;
use tenant::problem::ProblemKind;

use billing::Entitlements;
use poem::Request;
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use tenant::audit::RequestContext;
use tenant::diesel_async::AsyncPgConnection;
use tenant::tables::billing as billing_rows;
use tenant::tables::projects;
use tenant::{Actor, DbError, OrgId, ProjectId, ScopeFn, ScopedTransaction};
use uuid::Uuid;

use crate::auth::{
    Caller, Credentials, Need, OrgAccess, register_security, security_scheme_names, state_of,
};
use crate::error::{ApiError, ApiResult};

/// The least role (or API key scope) an operation needs, as a type: `OrgScope<Admin>`.
pub trait Requirement: Send + Sync + 'static {
    /// The permission checked.
    const NEED: Need;
}

/// Anyone in the organization: viewer role, or a key with the `read` scope.
pub struct Viewer;
/// Members (change projects and data), or a key with the `write` scope.
pub struct Member;
/// Admins (members, invitations, keys, settings), or a key with the `admin` scope.
pub struct Admin;
/// Owners, signed in (API keys never).
pub struct Owner;

impl Requirement for Viewer {
    const NEED: Need = Need::Read;
}
impl Requirement for Member {
    const NEED: Need = Need::Write;
}
impl Requirement for Admin {
    const NEED: Need = Need::Admin;
}
impl Requirement for Owner {
    const NEED: Need = Need::Owner;
}

/// The caller's checked access to the path's organization, and the request's transaction.
pub struct OrgScope<R: Requirement> {
    /// Who the caller is there (organization, role, user, project limits).
    pub access: OrgAccess,
    /// The caller.
    pub caller: Caller,
    /// What the organization's plan allows now (every gate reads this).
    pub entitlements: Entitlements,
    tx: ScopedTransaction,
    need: PhantomData<R>,
}

/// An [`OrgScope`] narrowed to the path's project, loaded in the same transaction.
pub struct ProjectScope<R: Requirement> {
    /// Who the caller is in the project's organization.
    pub access: OrgAccess,
    /// The caller.
    pub caller: Caller,
    /// What the organization's plan allows now (every gate reads this).
    pub entitlements: Entitlements,
    /// The project (with its settings).
    pub project: projects::Project,
    tx: ScopedTransaction,
    need: PhantomData<R>,
}

macro_rules! scope_common {
    ($scope:ident) => {
        impl<R: Requirement> $scope<R> {
            /// The organization.
            pub fn org(&self) -> OrgId {
                self.access.org
            }

            /// The organization's id, for queries.
            pub fn org_id(&self) -> Uuid {
                self.access.org.uuid()
            }

            /// Who acts (recorded as `app.actor` in the transaction).
            pub fn actor(&self) -> Actor {
                self.caller.actor()
            }

            /// Runs `f` in the request's transaction; commits on `Ok`, rolls back otherwise.
            pub async fn run<T, E, F>(self, f: F) -> Result<T, E>
            where
                F: for<'r> ScopeFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send> + Send,
                E: From<DbError>,
            {
                self.tx.run(f).await
            }
        }
    };
}

scope_common!(OrgScope);
scope_common!(ProjectScope);

impl<R: Requirement> ProjectScope<R> {
    /// The project's id, typed.
    pub fn project_id(&self) -> ProjectId {
        ProjectId::from_uuid(self.project.project_id)
    }
}

/// The id that follows `segment` in the request path (`/api/v1/orgs/<org_id>/projects/
/// <project_id>/…`). Read from the URI rather than poem-openapi's matched parameters, which it
/// names by position (`param0`, …), not by the names in the spec.
fn path_uuid(req: &Request, segment: &str, name: &str) -> ApiResult<Uuid> {
    let mut parts = req.uri().path().split('/');
    parts
        .by_ref()
        .find(|part| *part == segment)
        .and_then(|_| parts.next())
        .and_then(|raw| Uuid::try_parse(raw).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                ProblemKind::InvalidRequest,
                format!("`{name}` must be a UUID"),
            )
        })
}

/// What a request adds to the audit records written in its transaction: its id, the client's
/// IP (as the throttle sees it) and user agent.
pub fn request_context(req: &Request, state: &crate::state::AppState) -> RequestContext {
    RequestContext::new(
        req.extensions()
            .get::<crate::middleware::RequestId>()
            .map(|id| id.0.clone()),
        crate::auth::client_ip::client_ip(req, &state.trusted_proxies).map(|ip| ip.to_string()),
        req.headers()
            .get(poem::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok()),
    )
}

/// What [`open`] resolves.
struct Opened {
    access: OrgAccess,
    caller: Caller,
    entitlements: Entitlements,
    tx: ScopedTransaction,
}

/// Opens the transaction for the path's organization, resolves the caller in it, checks
/// `need`, records the actor and reads the organization's entitlements.
async fn open(req: &Request, need: Need) -> ApiResult<Opened> {
    let state = state_of(req)?;
    let org = OrgId::from_uuid(path_uuid(req, "orgs", "org_id")?);
    let credentials = Credentials::of(req)?;
    if let Credentials::Key { org: key_org, .. } = &credentials
        && *key_org != org
    {
        // Checked in its own organization: 401 for a bad key, then 404 for a good one.
        credentials.resolve(state).await?;
        return Err(ApiError::not_found("organization"));
    }
    let mut tx = state.db.begin_scoped(org).await?;
    let caller = credentials.resolve_on(tx.conn()?).await?;
    let member_role = crate::auth::member_role(tx.conn()?, org, &caller).await?;
    let access = caller.access(org, need, member_role)?;
    tx.act_as(&caller.actor(), &request_context(req, state))
        .await?;
    let entitlements = state
        .billing
        .entitlements(tx.conn()?, org, state.clock.now())
        .await?;
    Ok(Opened {
        access,
        caller,
        entitlements,
        tx,
    })
}

/// Refuses a write to a project beyond the plan's project limit: after a downgrade the newest
/// projects past the limit are read-only until the plan grows or projects are deleted
/// (deleting a project takes an `OrgScope`, so the excess can always be resolved).
async fn check_project_writable(
    need: Need,
    tx: &mut ScopedTransaction,
    entitlements: &Entitlements,
    project: &projects::Project,
) -> ApiResult<()> {
    let Some(limit) = entitlements.limit(billing::Limit::Projects) else {
        return Ok(());
    };
    if need == Need::Read {
        return Ok(());
    }
    let org = OrgId::from_uuid(project.org_id);
    let position = billing_rows::project_position(tx.conn()?, org, project).await?;
    if position < limit {
        return Ok(());
    }
    Err(ApiError::new(
        poem::http::StatusCode::PAYMENT_REQUIRED,
        ProblemKind::PlanLimitReached,
        format!(
            "this project is read-only: the organization's plan allows {limit} projects and this \
             one is past them; upgrade the plan or delete projects"
        ),
    ))
}

impl<'a, R: Requirement> ApiExtractor<'a> for OrgScope<R> {
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
        let Opened {
            access,
            caller,
            entitlements,
            tx,
        } = open(req, R::NEED).await?;
        Ok(Self {
            access,
            caller,
            entitlements,
            tx,
            need: PhantomData,
        })
    }
}

impl<'a, R: Requirement> ApiExtractor<'a> for ProjectScope<R> {
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
        let project_id = path_uuid(req, "projects", "project_id")?;
        let Opened {
            access,
            caller,
            entitlements,
            mut tx,
        } = open(req, R::NEED).await?;
        if !access.can_see_project(project_id) {
            return Err(ApiError::not_found("project").into());
        }
        let conn = tx.conn().map_err(ApiError::from)?;
        let project = projects::find(conn, access.org, tenant::ProjectId::from_uuid(project_id))
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("project"))?
            .project;
        check_project_writable(R::NEED, &mut tx, &entitlements, &project).await?;
        Ok(Self {
            access,
            caller,
            entitlements,
            project,
            tx,
            need: PhantomData,
        })
    }
}
