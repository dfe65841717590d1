//! `POST /api/v2/query`: Plausible's Stats API v2 (request and response shape), over Beacon's
//! events, with API keys (`read` scope) or a signed-in session. The HTTP adapter only: the
//! parser and the answer are `tenant::stats`, which the worker calls too.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use serde_json::json;
use tenant::stats::{StatsError, segments};
use tenant::tables::{organizations, projects};
use tenant::{DbError, OrgId, ProjectId};

use super::stats_contract::{Described, StatsQueryDoc, StatsResultDoc};
use crate::auth::{Auth, Caller, Need};
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::state::AppState;

#[derive(ApiResponse)]
enum QueryResponse {
    /// Result rows, what they mean, and the query as understood.
    #[oai(status = 200)]
    Ok(Json<Described<StatsResultDoc>>),
}

/// The project `site_id` names, among those the caller may read.
pub(crate) async fn find_project(
    state: &AppState,
    auth: &Auth,
    site_id: &str,
) -> ApiResult<(OrgId, projects::Project)> {
    let orgs: Vec<uuid::Uuid> = match &auth.0 {
        Caller::Key { org, .. } => vec![org.uuid()],
        Caller::User { user_id, .. } => {
            let user = *user_id;
            state
                .db
                .user_scoped(user, async |conn| {
                    Ok::<_, DbError>(organizations::list_for_user(conn, user, None, 200).await?)
                })
                .await?
                .into_iter()
                .map(|(org, _)| org.org_id)
                .collect()
        }
    };
    for org_id in orgs {
        let access = auth.org(state, org_id, Need::Read).await?;
        let project = state
            .db
            .scoped(access.org, async |conn| {
                Ok::<_, DbError>(
                    projects::find_by_domain(conn, OrgId::from_uuid(org_id), site_id).await?,
                )
            })
            .await?;
        if let Some(project) = project.filter(|p| access.can_see_project(p.project_id)) {
            return Ok((access.org, project));
        }
    }
    Err(ApiError::not_found("site"))
}

impl From<StatsError> for ApiError {
    fn from(error: StatsError) -> Self {
        match error {
            StatsError::Invalid(invalid) => invalid.into(),
            StatsError::Db(error) => error.into(),
        }
    }
}

/// The Stats API.
#[derive(Default)]
pub struct StatsApi;

#[OpenApi(tag = "ApiTags::Stats")]
impl StatsApi {
    /// Query aggregate statistics (Plausible Stats API v2): `site_id`, `metrics`, `date_range`,
    /// and optional `dimensions`, `filters`, `order_by`, `pagination`,
    /// `include.comparisons.mode = "previous_period"`. A saved segment is a filter
    /// `["is", "segment", ["<id>"]]`: shared segments, and a signed-in user's own.
    #[oai(path = "/api/v2/query", method = "post", operation_id = "query_stats")]
    async fn query(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        body: Json<Described<StatsQueryDoc>>,
    ) -> ApiResult<QueryResponse> {
        let site_id = segments::site_of(&body)?;
        let (org, project) = find_project(&state, &auth, &site_id).await?;
        let filters = body.get("filters").cloned().unwrap_or(json!([]));
        let now = state.clock.now();
        let viewer = auth.0.person();
        let result = state
            .db
            .scoped(org, async |conn| {
                let project_id = ProjectId::from_uuid(project.project_id);
                let request = segments::parse(conn, org, project_id, viewer, &body).await?;
                tenant::stats::answer(conn, &project, &request, filters, now).await
            })
            .await?;
        Ok(QueryResponse::Ok(Json(Described::new(result))))
    }
}
