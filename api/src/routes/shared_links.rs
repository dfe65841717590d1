//! Managing shared links: members make links to a project's dashboards (the secret is shown
//! once); owners and admins see every link of the organization and pause, resume or revoke any
//! of them; members see and manage their own. Making one needs the plan's `shared_links`
//! feature when billing is configured. What a visitor may do is `shared.rs`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Value, json};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::sharing::{self, Token};
use tenant::tables::shared_links::{self, MAX_PER_ORG, NewLink, SharedLink};
use tenant::tables::{dashboards, segments};
use uuid::Uuid;

use billing::Feature;

use crate::auth::OrgAccess;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Member, OrgScope, ProjectScope};
use crate::state::AppState;

/// Shortest password of a link.
const MIN_PASSWORD: usize = 8;

/// A new shared link.
#[derive(Debug, Object)]
pub struct SharedLinkIn {
    /// Name, for the people who manage links.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Text,
    /// A custom dashboard of the project (`null`: the project's main dashboard).
    pub dashboard_id: Option<Uuid>,
    /// A password (8 to 200 characters) visitors must give; such a link cannot be embedded.
    #[oai(validator(max_length = 200))]
    pub password: Option<String>,
    /// A shared segment of the project every number of the link is limited to.
    pub segment_id: Option<Uuid>,
    /// When the link stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Origins (`https://intranet.example.com`) allowed to show the link in an iframe; none:
    /// not embeddable. At most 10.
    #[oai(default)]
    pub embed_origins: Vec<String>,
}

/// A change of a link.
#[derive(Debug, Object)]
pub struct SharedLinkPatch {
    /// Pause (`true`) or resume (`false`).
    pub paused: bool,
}

/// A shared link (never its secret or password).
#[derive(Debug, Object)]
pub struct SharedLinkOut {
    /// Id.
    pub id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// The custom dashboard (`null`: the main one).
    pub dashboard_id: Option<Uuid>,
    /// Name.
    pub name: String,
    /// Whether visitors need a password.
    pub has_password: bool,
    /// The segment it is limited to.
    pub segment_id: Option<Uuid>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Paused.
    pub paused: bool,
    /// Origins allowed to embed it.
    pub embed_origins: Vec<String>,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// Made at.
    pub created_at: DateTime<Utc>,
}

/// A link just made, with the only copy of its address.
#[derive(Debug, Object)]
pub struct SharedLinkCreated {
    /// The link.
    pub link: SharedLinkOut,
    /// Its path, `/share/<token>` (shown once: Beacon keeps only a hash of the secret in it).
    pub path: String,
    /// Its whole address, when Beacon knows its own (`BEACON_PUBLIC_URL`, or the request's
    /// `Origin` or `Host`).
    pub url: Option<String>,
}

fn link_out(link: SharedLink) -> SharedLinkOut {
    SharedLinkOut {
        id: link.link_id,
        project_id: link.project_id,
        dashboard_id: link.dashboard_id,
        name: link.name,
        has_password: link.password_hash.is_some(),
        segment_id: link.segment_id,
        expires_at: link.expires_at,
        paused: link.paused,
        embed_origins: link.embed_origins,
        created_by: link.created_by,
        created_at: link.created_at,
    }
}

/// A link's settings as its audit records show them (never the secret or the password).
fn audited_fields(link: &SharedLink) -> Value {
    json!({
        "project_id": link.project_id,
        "dashboard_id": link.dashboard_id,
        "name": link.name,
        "has_password": link.password_hash.is_some(),
        "segment_id": link.segment_id,
        "expires_at": link.expires_at,
        "embed_origins": link.embed_origins,
        "paused": link.paused,
    })
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::invalid(ProblemKind::InvalidSharedLink, detail)
}

/// An origin as a browser sends it (`https://host[:port]`, lower case), or a refusal.
fn origin(given: &str) -> ApiResult<String> {
    let url = url::Url::parse(given.trim()).map_err(|_| {
        invalid(format!(
            "{given:?} is not an origin such as https://intranet.example.com"
        ))
    })?;
    let plain = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "https" | "http") || !url.has_host() || !plain {
        return Err(invalid(format!(
            "{given:?} is not an origin such as https://intranet.example.com (scheme and host only)"
        )));
    }
    Ok(url.origin().ascii_serialization())
}

/// The link `id`, when `access` may manage it: owners and admins any, members their own (404
/// when it is not there, 403 when it is someone else's and the caller is no admin).
async fn managed_link(
    conn: &mut diesel_async::AsyncPgConnection,
    access: &OrgAccess,
    id: Uuid,
) -> ApiResult<SharedLink> {
    let link = shared_links::find(conn, access.org, id)
        .await?
        .ok_or_else(|| ApiError::not_found("shared link"))?;
    if access.is_admin() || access.made(link.created_by) {
        Ok(link)
    } else {
        Err(ApiError::forbidden(
            "owners and admins manage every shared link; members their own",
        ))
    }
}

/// Shared link management.
#[derive(Default)]
pub struct SharedLinksApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl SharedLinksApi {
    /// Make a shared link to a dashboard of the project. The answer holds its address once.
    #[oai(
        path = "/:org_id/projects/:project_id/shared-links",
        method = "post",
        operation_id = "create_shared_link"
    )]
    async fn create(
        &self,
        req: &poem::Request,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<SharedLinkIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<SharedLinkCreated>> {
        scope.entitlements.require(Feature::SharedLinks)?;
        let name = crate::routes::orgs::clean_name(body.name.trim())?;
        let password = body.password.as_deref().filter(|p| !p.is_empty());
        if password.is_some_and(|p| p.chars().count() < MIN_PASSWORD) {
            return Err(invalid(format!(
                "a link's password has at least {MIN_PASSWORD} characters"
            )));
        }
        if body.embed_origins.len() > 10 {
            return Err(invalid("at most 10 origins may embed a link"));
        }
        let origins = body
            .embed_origins
            .iter()
            .map(|o| origin(o))
            .collect::<ApiResult<Vec<_>>>()?;
        if password.is_some() && !origins.is_empty() {
            return Err(invalid(
                "a link with a password cannot be embedded: remove the password or the origins",
            ));
        }
        let now = state.clock.now();
        if body.expires_at.is_some_and(|at| at <= now) {
            return Err(invalid("the expiry is in the past"));
        }
        let password_hash = match password {
            Some(password) => {
                let password = password.to_owned();
                Some(
                    state
                        .password_hashing
                        .run(move || tenant::secrets::hash_password(&password))
                        .await?
                        .map_err(ApiError::internal)?,
                )
            }
            None => None,
        };
        let secret = tenant::secrets::new_token();
        let secret_hash = sharing::secret_hash(&secret);
        let (org, project, by) = (scope.org(), scope.project_id(), scope.access.user_id);
        let base = state.app_url(req).ok();
        let (dashboard_id, segment_id, expires_at) =
            (body.dashboard_id, body.segment_id, body.expires_at);
        let link = scope
            .run(async |conn| {
                if shared_links::count(conn, org).await? >= MAX_PER_ORG {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        format!("an organization keeps at most {MAX_PER_ORG} shared links: revoke one first"),
                    ));
                }
                if let Some(id) = dashboard_id
                    && dashboards::find(conn, org, project, id).await?.is_none()
                {
                    return Err(invalid(format!("the project has no dashboard {id}")));
                }
                if let Some(id) = segment_id
                    && segments::find_visible(conn, org, project, None, &[id]).await?.is_empty()
                {
                    return Err(invalid(format!(
                        "the project has no shared segment {id} (a link can only be limited to a shared segment)"
                    )));
                }
                let new = NewLink {
                    project,
                    dashboard_id,
                    name: &name,
                    secret_hash: &secret_hash,
                    password_hash: password_hash.as_deref(),
                    segment_id,
                    expires_at,
                    embed_origins: &origins,
                    by,
                };
                let link = shared_links::create(conn, org, new).await?;
                let entry = Entry::new(Action::SharedLinkCreated, link.link_id)
                    .with(Changes::created(audited_fields(&link)));
                audit::record(conn, org, entry).await?;
                Ok(link)
            })
            .await?;
        let token = Token {
            org,
            link_id: link.link_id,
            secret,
        };
        let path = format!("/share/{}", token.text());
        Ok(Created::Created(Json(SharedLinkCreated {
            link: link_out(link),
            url: base.map(|base| format!("{}{path}", base.trim_end_matches('/'))),
            path,
        })))
    }

    /// The organization's shared links: all of them for owners and admins, their own for
    /// members.
    #[oai(
        path = "/:org_id/shared-links",
        method = "get",
        operation_id = "list_shared_links"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Member>,
    ) -> ApiResult<Json<Vec<SharedLinkOut>>> {
        let org = scope.org();
        let mine = (!scope.access.is_admin()).then_some(scope.access.user_id);
        let links = scope
            .run(async |conn| {
                let links = match mine {
                    // A member who is a key (no person) made none.
                    Some(None) => vec![],
                    Some(Some(user)) => shared_links::list(conn, org, Some(user)).await?,
                    None => shared_links::list(conn, org, None).await?,
                };
                Ok::<_, ApiError>(links)
            })
            .await?;
        Ok(Json(links.into_iter().map(link_out).collect()))
    }

    /// Pause or resume a link (it stops or works again from the next request).
    #[oai(
        path = "/:org_id/shared-links/:link_id",
        method = "patch",
        operation_id = "update_shared_link"
    )]
    async fn update(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        link_id: Path<Uuid>,
        body: Json<SharedLinkPatch>,
        scope: OrgScope<Member>,
    ) -> ApiResult<Json<SharedLinkOut>> {
        let (org, access) = (scope.org(), scope.access.clone());
        let paused = body.paused;
        let after = scope
            .run(async |conn| {
                let before = managed_link(conn, &access, *link_id).await?;
                let after = shared_links::set_paused(conn, org, *link_id, paused)
                    .await?
                    .ok_or_else(|| ApiError::not_found("shared link"))?;
                let changes = Changes::diff(&audited_fields(&before), &audited_fields(&after));
                if !changes.is_empty() {
                    let entry = Entry::new(Action::SharedLinkUpdated, after.link_id).with(changes);
                    audit::record(conn, org, entry).await?;
                }
                Ok::<_, ApiError>(after)
            })
            .await?;
        Ok(Json(link_out(after)))
    }

    /// Revoke a link: it stops at once, for good.
    #[oai(
        path = "/:org_id/shared-links/:link_id",
        method = "delete",
        operation_id = "revoke_shared_link"
    )]
    async fn revoke(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        link_id: Path<Uuid>,
        scope: OrgScope<Member>,
    ) -> ApiResult<NoContent> {
        let (org, access) = (scope.org(), scope.access.clone());
        scope
            .run(async |conn| {
                let before = managed_link(conn, &access, *link_id).await?;
                if shared_links::delete(conn, org, *link_id).await? {
                    let entry = Entry::new(Action::SharedLinkRevoked, before.link_id)
                        .with(Changes::deleted(audited_fields(&before)));
                    audit::record(conn, org, entry).await?;
                }
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }
}
