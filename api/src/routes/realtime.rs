//! Realtime: who is on the site right now.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenant::DbError;
use tenant::tables::projects;
use uuid::Uuid;

use crate::auth::{Auth, Need};
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::state::AppState;

/// A page and how many current visitors are on it.
#[derive(Debug, Object)]
pub struct CurrentPageOut {
    /// Path.
    pub page: String,
    /// Visitors whose latest event was on it.
    pub visitors: i64,
}

/// The last five minutes.
#[derive(Debug, Object)]
pub struct RealtimeOut {
    /// Distinct visitors in the last five minutes.
    pub visitors: i64,
    /// Up to 10 pages they are on, most visited first.
    pub pages: Vec<CurrentPageOut>,
    /// The window, in minutes.
    pub window_minutes: i32,
}

/// Realtime operations.
pub struct RealtimeApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl RealtimeApi {
    /// Visitors in the last five minutes and the pages they are on.
    #[oai(
        path = "/:org_id/projects/:project_id/realtime",
        method = "get",
        operation_id = "get_realtime"
    )]
    async fn realtime(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        org_id: Path<Uuid>,
        project_id: Path<Uuid>,
    ) -> ApiResult<Json<RealtimeOut>> {
        let access = auth.org(&state, *org_id, Need::Read).await?;
        if !access.can_see_project(*project_id) {
            return Err(ApiError::not_found("project"));
        }
        let (visitors, pages) = state
            .db
            .scoped(access.org, async |conn| {
                if projects::find(conn, *org_id, *project_id).await?.is_none() {
                    return Err(ApiError::not_found("project"));
                }
                Ok(tenant::stats::realtime(conn, *project_id, 10)
                    .await
                    .map_err(DbError::from)?)
            })
            .await?;
        Ok(Json(RealtimeOut {
            visitors,
            pages: pages
                .into_iter()
                .map(|p| CurrentPageOut {
                    page: p.page,
                    visitors: p.visitors,
                })
                .collect(),
            window_minutes: tenant::stats::REALTIME_MINUTES,
        }))
    }
}
