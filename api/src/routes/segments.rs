//! Saved segments: named filter sets of a project, personal or shared with the organization,
//! usable wherever Stats API filters are (`["is", "segment", ["<id>"]]`).
//!
//! A personal segment is its owner's alone: others (admins too) get 404, as for a missing
//! one. A shared segment is changed by whoever made it or by an admin.

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Value, json};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::segments::{self, MAX_PER_PROJECT, Segment, SegmentFields};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Member, ProjectScope, Viewer};

/// A segment to save.
#[derive(Debug, Object)]
pub struct SegmentIn {
    /// Name, e.g. "Mobile visitors from Germany".
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Text,
    /// Stats API v2 filter expressions, e.g. `[["is", "visit:country", ["DE"]]]` (1 to 20; no
    /// segment inside a segment).
    pub filters: Vec<Value>,
    /// Shared with the organization (default: personal). A segment saved with an API key is
    /// always shared.
    #[oai(default)]
    pub shared: bool,
}

/// A saved segment.
#[derive(Debug, Object)]
pub struct SegmentOut {
    /// Id (use it as `["is", "segment", ["<id>"]]`).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Filter expressions.
    pub filters: Vec<Value>,
    /// Shared with the organization.
    pub shared: bool,
    /// Who made it (`null`: an API key).
    pub owner_id: Option<Uuid>,
    /// Whether the caller may change or delete it.
    pub editable: bool,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// Who asks, as far as changing segments goes.
#[derive(Debug, Clone, Copy)]
struct Editor {
    user: Option<Uuid>,
    admin: bool,
}

impl Editor {
    fn of<R: crate::scope::Requirement>(scope: &ProjectScope<R>) -> Self {
        Self {
            user: scope.access.user_id.map(tenant::UserId::uuid),
            admin: scope.access.is_admin(),
        }
    }

    /// Whether this caller may change `segment`: its maker, or an admin for a shared one.
    fn may_change(self, segment: &Segment) -> bool {
        segment.owner_id == self.user || (segment.shared && self.admin)
    }
}

fn segment_out(editor: Editor, segment: Segment) -> SegmentOut {
    SegmentOut {
        editable: editor.may_change(&segment),
        id: segment.segment_id,
        name: segment.name,
        filters: segment.filters.as_array().cloned().unwrap_or_default(),
        shared: segment.shared,
        owner_id: segment.owner_id,
        created_at: segment.created_at,
        updated_at: segment.updated_at,
    }
}

/// A segment's fields as its audit records show them.
fn audited_fields(segment: &Segment) -> Value {
    json!({
        "project_id": segment.project_id,
        "name": segment.name,
        "filters": segment.filters,
        "shared": segment.shared,
    })
}

/// The segment `id` as `editor` sees it, if they may change it: 404 when they cannot see it,
/// 403 when they see it but it is not theirs to change.
async fn changeable(
    conn: &mut diesel_async::AsyncPgConnection,
    (org, project): (tenant::OrgId, tenant::ProjectId),
    viewer: Option<tenant::UserId>,
    editor: Editor,
    id: Uuid,
) -> ApiResult<Segment> {
    let segment = segments::find_visible(conn, org, project, viewer, &[id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("segment"))?;
    if !editor.may_change(&segment) {
        return Err(ApiError::forbidden(
            "a shared segment is changed or deleted by who made it, or by an admin",
        ));
    }
    Ok(segment)
}

/// Refuses to drop a segment shared links are limited to: without it they would show more.
async fn in_use_by_links(
    conn: &mut diesel_async::AsyncPgConnection,
    org: tenant::OrgId,
    id: Uuid,
    what: &str,
) -> ApiResult<()> {
    let links = tenant::tables::shared_links::names_using_segment(conn, org, id).await?;
    if links.is_empty() {
        return Ok(());
    }
    Err(ApiError::conflict(
        ProblemKind::Conflict,
        format!(
            "shared links are limited to this segment ({}): revoke them before it is {what}",
            links.join(", ")
        ),
    ))
}

/// The body checked: name trimmed, filters valid.
fn checked(body: &SegmentIn) -> ApiResult<(String, Value)> {
    let name = crate::routes::orgs::clean_name(body.name.trim())?;
    let filters = Value::Array(body.filters.clone());
    tenant::stats::segments::validate(&filters)?;
    Ok((name, filters))
}

/// Saved segment operations.
#[derive(Default)]
pub struct SegmentsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl SegmentsApi {
    /// The project's segments the caller sees: shared ones and their own personal ones.
    #[oai(
        path = "/:org_id/projects/:project_id/segments",
        method = "get",
        operation_id = "list_segments"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<SegmentOut>>> {
        let (org, project, viewer) = (scope.org(), scope.project_id(), scope.access.user_id);
        let editor = Editor::of(&scope);
        let found = scope
            .run(async |conn| Ok::<_, ApiError>(segments::list(conn, org, project, viewer).await?))
            .await?;
        Ok(Json(
            found
                .into_iter()
                .map(|segment| segment_out(editor, segment))
                .collect(),
        ))
    }

    /// Save a segment.
    #[oai(
        path = "/:org_id/projects/:project_id/segments",
        method = "post",
        operation_id = "create_segment"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<SegmentIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<SegmentOut>> {
        let (name, filters) = checked(&body)?;
        let (org, project, owner) = (scope.org(), scope.project_id(), scope.access.user_id);
        let editor = Editor::of(&scope);
        let fields = SegmentFields {
            name: &name,
            filters: &filters,
            shared: body.shared || owner.is_none(),
        };
        let segment = scope
            .run(async |conn| {
                if segments::count(conn, org, project).await? >= MAX_PER_PROJECT {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        format!(
                            "a project keeps at most {MAX_PER_PROJECT} segments: delete one first"
                        ),
                    ));
                }
                let segment = segments::create(conn, org, project, owner, fields).await?;
                let entry = Entry::new(Action::SegmentCreated, segment.segment_id)
                    .with(Changes::created(audited_fields(&segment)));
                audit::record(conn, org, entry).await?;
                Ok(segment)
            })
            .await?;
        Ok(Created::Created(Json(segment_out(editor, segment))))
    }

    /// Change a segment: its maker, or an admin for a shared one.
    #[oai(
        path = "/:org_id/projects/:project_id/segments/:segment_id",
        method = "put",
        operation_id = "update_segment"
    )]
    async fn update(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        segment_id: Path<Uuid>,
        body: Json<SegmentIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<SegmentOut>> {
        let (name, filters) = checked(&body)?;
        let (org, project, viewer) = (scope.org(), scope.project_id(), scope.access.user_id);
        let editor = Editor::of(&scope);
        let segment = scope
            .run(async |conn| {
                let before = changeable(conn, (org, project), viewer, editor, *segment_id).await?;
                // A key-made segment has no owner to keep it personal: it stays shared.
                let shared = body.shared || before.owner_id.is_none();
                if !shared && before.shared {
                    in_use_by_links(conn, org, *segment_id, "made personal").await?;
                }
                let fields = SegmentFields {
                    name: &name,
                    filters: &filters,
                    shared,
                };
                let after = segments::update(conn, org, project, *segment_id, fields)
                    .await?
                    .ok_or_else(|| ApiError::not_found("segment"))?;
                let changes = Changes::diff(&audited_fields(&before), &audited_fields(&after));
                if !changes.is_empty() {
                    let entry = Entry::new(Action::SegmentUpdated, after.segment_id).with(changes);
                    audit::record(conn, org, entry).await?;
                }
                Ok::<_, ApiError>(after)
            })
            .await?;
        Ok(Json(segment_out(editor, segment)))
    }

    /// Delete a segment: its maker, or an admin for a shared one. Dashboards and links that
    /// used it then answer `invalid_filter` naming it.
    #[oai(
        path = "/:org_id/projects/:project_id/segments/:segment_id",
        method = "delete",
        operation_id = "delete_segment"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        segment_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let (org, project, viewer) = (scope.org(), scope.project_id(), scope.access.user_id);
        let editor = Editor::of(&scope);
        scope
            .run(async |conn| {
                let before = changeable(conn, (org, project), viewer, editor, *segment_id).await?;
                in_use_by_links(conn, org, *segment_id, "deleted").await?;
                if segments::delete(conn, org, project, *segment_id).await? {
                    let entry = Entry::new(Action::SegmentDeleted, before.segment_id)
                        .with(Changes::deleted(audited_fields(&before)));
                    audit::record(conn, org, entry).await?;
                }
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }
}
