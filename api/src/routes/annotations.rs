//! Annotations: notes pinned to a moment of a project ("v2.3 deployed"), listed for a period
//! and drawn on its time series. Members write them; their author or an admin deletes them,
//! with their comment thread.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Value, json};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::annotations::{self, Annotation};
use tenant::tables::comments::{self, TargetKind};
use uuid::Uuid;

use crate::auth::OrgAccess;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Member, ProjectScope, Viewer};
use crate::state::AppState;

/// A new annotation.
#[derive(Debug, Object)]
pub struct AnnotationIn {
    /// The moment it is pinned to.
    pub at: DateTime<Utc>,
    /// The note (1 to 280 characters).
    #[oai(validator(min_length = 1, max_length = 280))]
    pub text: Text,
}

/// An annotation.
#[derive(Debug, Object)]
pub struct AnnotationOut {
    /// Id.
    pub id: Uuid,
    /// The moment.
    pub at: DateTime<Utc>,
    /// The note.
    pub text: String,
    /// Who wrote it.
    pub created_by: Option<Uuid>,
    /// Whether the caller may delete it (its author, or an admin).
    pub editable: bool,
}

fn annotation_out(annotation: Annotation, access: &OrgAccess) -> AnnotationOut {
    AnnotationOut {
        editable: access.is_admin() || access.made(annotation.created_by),
        id: annotation.annotation_id,
        at: annotation.at,
        text: annotation.text,
        created_by: annotation.created_by,
    }
}

/// An annotation as its audit records show it.
fn audited_fields(annotation: &Annotation) -> Value {
    json!({"project_id": annotation.project_id, "at": annotation.at, "text": annotation.text})
}

/// Annotation operations.
#[derive(Default)]
pub struct AnnotationsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl AnnotationsApi {
    /// The project's annotations in `period` (as the Stats API's `date_range`: `day`, `7d`,
    /// `30d`, `month`, `6mo`, `12mo`, `all`, or `YYYY-MM-DD,YYYY-MM-DD`; default `30d`), days
    /// in the project's time zone, oldest first (at most 500).
    #[oai(
        path = "/:org_id/projects/:project_id/annotations",
        method = "get",
        operation_id = "list_annotations"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        period: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<AnnotationOut>>> {
        let range = tenant::stats::request::parse_period(period.as_deref())?;
        let (org, project_id) = (scope.org(), scope.project_id());
        let project = scope.project.clone();
        let access = scope.access.clone();
        let found = scope
            .run(async |conn| {
                let today =
                    tenant::stats::today(conn, &project.timezone, state.clock.now()).await?;
                let days = range.resolve(today, project.created_at.date_naive());
                Ok::<_, ApiError>(
                    annotations::on_days(conn, org, project_id, &project.timezone, days).await?,
                )
            })
            .await?;
        Ok(Json(
            found
                .into_iter()
                .map(|annotation| annotation_out(annotation, &access))
                .collect(),
        ))
    }

    /// Pin a note to a moment of the project.
    #[oai(
        path = "/:org_id/projects/:project_id/annotations",
        method = "post",
        operation_id = "create_annotation"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<AnnotationIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<AnnotationOut>> {
        let text = body.text.trim().to_owned();
        if text.is_empty() || text.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                ProblemKind::InvalidValue,
                "an annotation is 1 to 280 characters, without control characters",
            ));
        }
        let (org, project, by) = (scope.org(), scope.project_id(), scope.access.user_id);
        let access = scope.access.clone();
        let made = scope
            .run(async |conn| {
                let made = annotations::create(conn, org, project, body.at, &text, by).await?;
                let entry = Entry::new(Action::AnnotationCreated, made.annotation_id)
                    .with(Changes::created(audited_fields(&made)));
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(made)
            })
            .await?;
        Ok(Created::Created(Json(annotation_out(made, &access))))
    }

    /// Delete an annotation: its author, or an admin.
    #[oai(
        path = "/:org_id/projects/:project_id/annotations/:annotation_id",
        method = "delete",
        operation_id = "delete_annotation"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        annotation_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let (org, project) = (scope.org(), scope.project_id());
        let access = scope.access.clone();
        scope
            .run(async |conn| {
                let before = annotations::find(conn, org, project, *annotation_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("annotation"))?;
                if !(access.is_admin() || access.made(before.created_by)) {
                    return Err(ApiError::forbidden(
                        "an annotation is deleted by its author or an admin",
                    ));
                }
                annotations::delete(conn, org, project, *annotation_id).await?;
                let about = (TargetKind::Annotation, annotation_id.to_string());
                comments::forget(conn, org, project, (about.0, &about.1)).await?;
                let entry = Entry::new(Action::AnnotationDeleted, before.annotation_id)
                    .with(Changes::deleted(audited_fields(&before)));
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }
}
