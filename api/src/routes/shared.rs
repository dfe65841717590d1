//! What a shared link's visitor may do, without an account: read the link's dashboard, unlock a
//! password-protected link, and query the link's project through the Stats API's shape.
//!
//! Every request resolves the token in its organization's scope (`tenant::sharing`) and checks
//! the link again, so pausing, revoking or expiry stop the next request. A visitor reaches only
//! the link's project (another `site_id` is 404, like a site that does not exist), only what
//! its segment allows (the segment is added to every query, at the top level, so it can only
//! narrow), and never a write: nothing here changes data, and the link gives no session.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Value, json};
use tenant::problem::ProblemKind;
use tenant::sharing::{self, Closed, Token};
use tenant::stats::segments;
use tenant::tables::shared_links::SharedLink;
use tenant::tables::{dashboards, projects, segments as segment_rows, shared_links};
use tenant::{OrgId, ProjectId};

use super::dashboards::WidgetDto;
use super::stats_contract::{Described, StatsQueryDoc, StatsResultDoc};
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::state::AppState;

/// The header carrying a password grant.
pub const GRANT_HEADER: &str = "X-Beacon-Share-Grant";

/// Password attempts allowed per link in a window (the throttle's window).
const UNLOCKS_PER_LINK: crate::auth::throttle::Limit = crate::auth::throttle::Limit {
    name: "share-unlock",
    max: 5,
    window: std::time::Duration::from_secs(15 * 60),
};

/// A shared dashboard as its visitor sees it.
#[derive(Debug, Object)]
pub struct SharedViewOut {
    /// The link's name.
    pub name: String,
    /// The project's name.
    pub project_name: String,
    /// The site (`site_id` of the link's queries).
    pub site_id: String,
    /// The project's time zone.
    pub timezone: String,
    /// The custom dashboard shared (`null`: the project's main dashboard).
    pub dashboard: Option<SharedDashboardOut>,
    /// The segment every number is limited to, by name.
    pub segment: Option<String>,
    /// When the link stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A shared custom dashboard.
#[derive(Debug, Object)]
pub struct SharedDashboardOut {
    /// Name.
    pub name: String,
    /// Period.
    pub period: Option<String>,
    /// Its own filters.
    pub filters: Vec<Value>,
    /// Widgets (funnels, retention, Web Vitals and errors are not shown on a shared link).
    pub widgets: Vec<WidgetDto>,
}

/// A password to unlock a link.
#[derive(Debug, Object)]
pub struct UnlockIn {
    /// The link's password.
    #[oai(validator(max_length = 200))]
    pub password: String,
}

/// A grant: send it as `X-Beacon-Share-Grant` with the link's other requests.
#[derive(Debug, Object)]
pub struct GrantOut {
    /// The grant.
    pub grant: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

fn closed(why: Closed) -> ApiError {
    match why {
        Closed::Unknown => ApiError::not_found("shared link"),
        Closed::Paused => ApiError::new(
            poem::http::StatusCode::GONE,
            ProblemKind::SharedLinkClosed,
            "this link is paused by the organization that shared it",
        ),
        Closed::Expired => ApiError::new(
            poem::http::StatusCode::GONE,
            ProblemKind::SharedLinkClosed,
            "this link has expired",
        ),
        Closed::PasswordRequired => ApiError::new(
            poem::http::StatusCode::UNAUTHORIZED,
            ProblemKind::SharedLinkLocked,
            "this link has a password: unlock it first",
        ),
    }
}

/// The link a token names, when it lets the visitor in, with its project; read in the link's
/// organization's scope, inside `conn`'s transaction.
pub(crate) async fn open_link(
    conn: &mut diesel_async::AsyncPgConnection,
    state: &AppState,
    token: &Token,
    grant: Option<&str>,
) -> ApiResult<(SharedLink, projects::ProjectWithDomains)> {
    let link = shared_links::find(conn, token.org, token.link_id).await?;
    sharing::admit(
        &state.sealing_key,
        link.as_ref(),
        token,
        grant,
        state.clock.now(),
    )
    .map_err(closed)?;
    let link = link.ok_or_else(|| closed(Closed::Unknown))?;
    let project = projects::find(conn, token.org, ProjectId::from_uuid(link.project_id))
        .await?
        .ok_or_else(|| closed(Closed::Unknown))?;
    Ok((link, project))
}

fn parse_token(token: &str) -> ApiResult<Token> {
    Token::parse(token).ok_or_else(|| ApiError::not_found("shared link"))
}

/// Shared-link operations for visitors.
#[derive(Default)]
pub struct SharedApi;

#[OpenApi(prefix_path = "/api/v1/shared", tag = "ApiTags::Stats")]
impl SharedApi {
    /// What a shared link shows: the project, the custom dashboard (or the main one), the
    /// segment it is limited to. 401 `shared_link_locked` when it has a password and no valid
    /// grant came with the request; 410 `shared_link_closed` when paused or expired.
    #[oai(path = "/:token", method = "get", operation_id = "get_shared_link")]
    async fn view(
        &self,
        state: Data<&AppState>,
        token: Path<String>,
        #[oai(name = "X-Beacon-Share-Grant")] grant: Header<Option<String>>,
    ) -> ApiResult<Json<SharedViewOut>> {
        let token = parse_token(&token)?;
        let org = token.org;
        let view = state
            .db
            .scoped(org, async |conn| {
                let (link, project) = open_link(conn, &state, &token, grant.as_deref()).await?;
                let project_id = ProjectId::from_uuid(project.project.project_id);
                let dashboard = match link.dashboard_id {
                    Some(id) => dashboards::find(conn, org, project_id, id).await?,
                    None => None,
                };
                let segment = match link.segment_id {
                    Some(id) => segment_rows::find_visible(conn, org, project_id, None, &[id])
                        .await?
                        .pop()
                        .map(|segment| segment.name),
                    None => None,
                };
                Ok::<_, ApiError>(SharedViewOut {
                    name: link.name,
                    site_id: project.domains.first().cloned().unwrap_or_default(),
                    project_name: project.project.name,
                    timezone: project.project.timezone,
                    dashboard: dashboard.map(|board| SharedDashboardOut {
                        name: board.name,
                        period: board.period,
                        filters: board.filters.as_array().cloned().unwrap_or_default(),
                        widgets: tenant::dashboards::widgets_of(&board.widgets)
                            .into_iter()
                            .map(WidgetDto::from)
                            .collect(),
                    }),
                    segment,
                    expires_at: link.expires_at,
                })
            })
            .await?;
        Ok(Json(view))
    }

    /// Unlock a password-protected link: answers a grant for its other requests (12 hours).
    /// Five wrong passwords per link in 15 minutes, then 429 with `Retry-After`.
    #[oai(
        path = "/:token/unlock",
        method = "post",
        operation_id = "unlock_shared_link"
    )]
    async fn unlock(
        &self,
        state: Data<&AppState>,
        token: Path<String>,
        body: Json<UnlockIn>,
    ) -> ApiResult<Json<GrantOut>> {
        let token = parse_token(&token)?;
        let link = state
            .db
            .scoped(token.org, async |conn| {
                Ok::<_, ApiError>(shared_links::find(conn, token.org, token.link_id).await?)
            })
            .await?;
        // Everything but the password first: an unknown, paused or expired link says so.
        match sharing::admit(
            &state.sealing_key,
            link.as_ref(),
            &token,
            None,
            state.clock.now(),
        ) {
            Err(Closed::PasswordRequired) => {}
            Ok(()) => {
                return Err(ApiError::bad_request(
                    ProblemKind::InvalidRequest,
                    "this link has no password",
                ));
            }
            Err(other) => return Err(closed(other)),
        }
        let (Some(link), key) = (link, token.link_id.to_string()) else {
            return Err(closed(Closed::Unknown));
        };
        let Some(hash) = link.password_hash.clone() else {
            return Err(closed(Closed::Unknown));
        };
        state
            .throttle
            .reserve(&UNLOCKS_PER_LINK, &key)
            .map_err(ApiError::too_many_requests)?;
        let candidate = body.password.clone();
        let stored = hash.clone();
        let matches = state
            .password_hashing
            .run(move || tenant::secrets::verify_password(&candidate, &stored))
            .await?;
        if !matches {
            return Err(ApiError::new(
                poem::http::StatusCode::UNAUTHORIZED,
                ProblemKind::SharedLinkLocked,
                "wrong password",
            ));
        }
        state.throttle.release(&UNLOCKS_PER_LINK, &key);
        let now = state.clock.now();
        Ok(Json(GrantOut {
            grant: sharing::grant(&state.sealing_key, &link, &hash, now),
            expires_at: now + chrono::Duration::hours(sharing::GRANT_HOURS),
        }))
    }

    /// Query the link's project: the Stats API v2 body (`site_id` must be the project's), with
    /// the link's segment added to every query. Shared segments of the project may be used as
    /// filters; they can only narrow what the link shows.
    #[oai(
        path = "/:token/query",
        method = "post",
        operation_id = "query_shared_link"
    )]
    async fn query(
        &self,
        state: Data<&AppState>,
        token: Path<String>,
        #[oai(name = "X-Beacon-Share-Grant")] grant: Header<Option<String>>,
        body: Json<Described<StatsQueryDoc>>,
    ) -> ApiResult<Json<Described<StatsResultDoc>>> {
        let token = parse_token(&token)?;
        let site_id = segments::site_of(&body)?;
        let org: OrgId = token.org;
        let now = state.clock.now();
        let result = state
            .db
            .scoped(org, async |conn| {
                let (link, project) = open_link(conn, &state, &token, grant.as_deref()).await?;
                if !project.domains.contains(&site_id) {
                    return Err(ApiError::not_found("site"));
                }
                let echoed = body.get("filters").cloned().unwrap_or(json!([]));
                let mut limited: Value = (*body).clone();
                if let Some(segment) = link.segment_id {
                    let mut filters = echoed.as_array().cloned().unwrap_or_default();
                    filters.insert(0, json!(["is", "segment", [segment]]));
                    limited["filters"] = Value::Array(filters);
                }
                let project_id = ProjectId::from_uuid(project.project.project_id);
                let request = segments::parse(conn, org, project_id, None, &limited).await?;
                Ok::<_, ApiError>(
                    tenant::stats::answer(conn, &project.project, &request, echoed, now).await?,
                )
            })
            .await?;
        Ok(Json(Described::new(result)))
    }
}
