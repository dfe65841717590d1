//! A project's activity feed: comments, annotations and error issues' state changes, newest
//! first (`tenant::tables::activity`). Read-only; viewers read it.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenant::tables::activity;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::scope::{ProjectScope, Viewer};

/// One thing that happened in a project.
#[derive(Debug, Object)]
pub struct ActivityOut {
    /// When.
    pub at: DateTime<Utc>,
    /// `comment`, `annotation` or `issue_state`.
    pub kind: String,
    /// The member who did it (`null`: the system, or an account since gone).
    pub actor_id: Option<Uuid>,
    /// Their address while they are a member (`null`: a former member, or the system).
    pub actor_email: Option<String>,
    /// A comment's first 140 characters (Markdown: render it as text), an annotation's text,
    /// or an issue's new state (`resolved`, `ignored`, `unresolved`, …).
    pub summary: String,
    /// What it is about: `dashboard`, `widget`, `issue`, `funnel` or `annotation`.
    pub target_kind: String,
    /// Which one (a widget: `<dashboard id>/<widget id>`).
    pub target_id: String,
}

/// Activity operations.
#[derive(Default)]
pub struct ActivityApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl ActivityApi {
    /// The project's newest activity (`limit` 1 to 200, default 50).
    #[oai(
        path = "/:org_id/projects/:project_id/activity",
        method = "get",
        operation_id = "list_activity"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        limit: Query<Option<i64>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<ActivityOut>>> {
        let (org, project) = (scope.org(), scope.project_id());
        let limit = limit.unwrap_or(50);
        let items = scope
            .run(async |conn| Ok::<_, ApiError>(activity::feed(conn, org, project, limit).await?))
            .await?;
        Ok(Json(
            items
                .into_iter()
                .map(|item| ActivityOut {
                    at: item.at,
                    kind: item.kind,
                    actor_id: item.actor_id,
                    actor_email: item.actor_email,
                    summary: item.summary,
                    target_kind: item.target_kind,
                    target_id: item.target_id,
                })
                .collect(),
        ))
    }
}
