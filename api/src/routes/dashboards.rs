//! Custom dashboards: per project, any number of grids of widgets with their own period and
//! filter bar; duplicated, renamed, reordered, one the project's default.
//!
//! A change names the `version` it read. When another change landed first it is refused with
//! 409 `dashboard_conflict` and nothing is saved: the editor reloads and sees both. Creating,
//! changing and duplicating need the plan's `custom_dashboards` feature; reading, deleting and
//! arranging the ones already made do not (a downgrade keeps them visible). What a valid
//! widget is lives in `tenant::dashboards`.

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::{Value, json};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::dashboards::{Widget, WidgetKind};
use tenant::problem::ProblemKind;
use tenant::tables::comments::{self, TargetKind};
use tenant::tables::dashboards::{self, Content, Dashboard, MAX_PER_PROJECT, Updated};
use tenant::tables::{funnels, segments};
use tenant::{OrgId, ProjectId};
use uuid::Uuid;

use billing::Feature;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Member, ProjectScope, Viewer};

/// What a widget shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WidgetKindDto {
    /// Metrics with the change against the previous period.
    Metric,
    /// One metric over time.
    TimeSeries,
    /// Rows of one dimension.
    Breakdown,
    /// A funnel (`funnel_id`).
    Funnel,
    /// Weekly retention.
    Retention,
    /// Open error issues.
    Errors,
    /// Web Vitals p75.
    Vitals,
    /// A Markdown note (`text`).
    Note,
}

impl From<WidgetKindDto> for WidgetKind {
    fn from(kind: WidgetKindDto) -> Self {
        match kind {
            WidgetKindDto::Metric => Self::Metric,
            WidgetKindDto::TimeSeries => Self::TimeSeries,
            WidgetKindDto::Breakdown => Self::Breakdown,
            WidgetKindDto::Funnel => Self::Funnel,
            WidgetKindDto::Retention => Self::Retention,
            WidgetKindDto::Errors => Self::Errors,
            WidgetKindDto::Vitals => Self::Vitals,
            WidgetKindDto::Note => Self::Note,
        }
    }
}

impl From<WidgetKind> for WidgetKindDto {
    fn from(kind: WidgetKind) -> Self {
        match kind {
            WidgetKind::Metric => Self::Metric,
            WidgetKind::TimeSeries => Self::TimeSeries,
            WidgetKind::Breakdown => Self::Breakdown,
            WidgetKind::Funnel => Self::Funnel,
            WidgetKind::Retention => Self::Retention,
            WidgetKind::Errors => Self::Errors,
            WidgetKind::Vitals => Self::Vitals,
            WidgetKind::Note => Self::Note,
        }
    }
}

/// A widget: its kind, place on the 12-column grid, and what it reads.
#[derive(Debug, Clone, Object)]
pub struct WidgetDto {
    /// Id, unique on the dashboard (letters, digits, `-`, `_`).
    #[oai(validator(min_length = 1, max_length = 40))]
    pub id: String,
    /// Kind.
    pub kind: WidgetKindDto,
    /// Title (may be empty).
    #[oai(default, validator(max_length = 100))]
    pub title: String,
    /// Left column, 0 to 11.
    pub x: i32,
    /// Top row.
    pub y: i32,
    /// Width in columns (x + w at most 12).
    pub w: i32,
    /// Height in rows.
    pub h: i32,
    /// For `metric`, `time_series` and `breakdown`: a Stats API v2 body without `site_id` and
    /// `date_range`, e.g. `{"metrics": ["visitors"], "dimensions": ["visit:country"]}`.
    pub query: Option<Value>,
    /// Its own period (`7d`, `30d`, `YYYY-MM-DD,YYYY-MM-DD`, …) instead of the dashboard's.
    pub period: Option<String>,
    /// For `note`: Markdown (shown sanitized: no HTML).
    pub text: Option<String>,
    /// For `funnel`: one of the project's funnels.
    pub funnel_id: Option<Uuid>,
}

impl From<WidgetDto> for Widget {
    fn from(dto: WidgetDto) -> Self {
        Self {
            id: dto.id,
            kind: dto.kind.into(),
            title: dto.title,
            x: dto.x,
            y: dto.y,
            w: dto.w,
            h: dto.h,
            query: dto.query,
            period: dto.period,
            text: dto.text,
            funnel_id: dto.funnel_id,
        }
    }
}

impl From<Widget> for WidgetDto {
    fn from(widget: Widget) -> Self {
        Self {
            id: widget.id,
            kind: widget.kind.into(),
            title: widget.title,
            x: widget.x,
            y: widget.y,
            w: widget.w,
            h: widget.h,
            query: widget.query,
            period: widget.period,
            text: widget.text,
            funnel_id: widget.funnel_id,
        }
    }
}

/// A dashboard's content.
#[derive(Debug, Object)]
pub struct DashboardIn {
    /// Name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Text,
    /// Period of every widget without its own (`null`: 30 days, or the viewer's choice).
    pub period: Option<String>,
    /// Stats API filter expressions applied to every widget (segments allowed).
    #[oai(default)]
    pub filters: Vec<Value>,
    /// Widgets (at most 50).
    #[oai(default)]
    pub widgets: Vec<WidgetDto>,
}

/// A change of a dashboard: its whole content, and the version it was read at.
#[derive(Debug, Object)]
pub struct DashboardChange {
    /// The `version` the editor read; refused with `dashboard_conflict` if it is not current.
    pub version: i32,
    /// The new content.
    #[oai(flatten)]
    pub content: DashboardIn,
}

/// A dashboard.
#[derive(Debug, Object)]
pub struct DashboardOut {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Place among the project's dashboards.
    pub position: i32,
    /// The project's default dashboard.
    pub is_default: bool,
    /// Current version (name it when changing the dashboard).
    pub version: i32,
    /// Period.
    pub period: Option<String>,
    /// Filter expressions.
    pub filters: Vec<Value>,
    /// Widgets.
    pub widgets: Vec<WidgetDto>,
    /// Who changed it last.
    pub updated_by: Option<Uuid>,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// A dashboard in the project's list.
#[derive(Debug, Object)]
pub struct DashboardSummary {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Place.
    pub position: i32,
    /// The project's default dashboard.
    pub is_default: bool,
    /// Current version.
    pub version: i32,
    /// How many widgets it holds.
    pub widget_count: i32,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// The order of the project's dashboards, and its default.
#[derive(Debug, Object)]
pub struct ArrangementIn {
    /// Every dashboard id of the project, each once, in the order wanted.
    pub order: Vec<Uuid>,
    /// The default dashboard (`null`: none).
    pub default_id: Option<Uuid>,
}

#[derive(ApiResponse)]
enum Saved {
    /// Saved; the dashboard as it now is.
    #[oai(status = 200)]
    Ok(Json<DashboardOut>),
}

fn dashboard_out(dashboard: Dashboard) -> DashboardOut {
    DashboardOut {
        id: dashboard.dashboard_id,
        widgets: tenant::dashboards::widgets_of(&dashboard.widgets)
            .into_iter()
            .map(WidgetDto::from)
            .collect(),
        filters: dashboard.filters.as_array().cloned().unwrap_or_default(),
        name: dashboard.name,
        position: dashboard.position,
        is_default: dashboard.is_default,
        version: dashboard.version,
        period: dashboard.period,
        updated_by: dashboard.updated_by,
        created_at: dashboard.created_at,
        updated_at: dashboard.updated_at,
    }
}

fn summary(dashboard: Dashboard) -> DashboardSummary {
    DashboardSummary {
        widget_count: dashboard
            .widgets
            .as_array()
            .map_or(0, |w| i32::try_from(w.len()).unwrap_or(i32::MAX)),
        id: dashboard.dashboard_id,
        name: dashboard.name,
        position: dashboard.position,
        is_default: dashboard.is_default,
        version: dashboard.version,
        updated_at: dashboard.updated_at,
    }
}

/// A dashboard's content as its audit records show it.
fn audited_fields(dashboard: &Dashboard) -> Value {
    json!({
        "project_id": dashboard.project_id,
        "name": dashboard.name,
        "period": dashboard.period,
        "filters": dashboard.filters,
        "widgets": dashboard.widgets,
    })
}

/// Content checked, as stored.
struct Checked {
    name: String,
    period: Option<String>,
    filters: Value,
    widgets: Value,
    funnels: Vec<Uuid>,
}

impl Checked {
    fn content(&self) -> Content<'_> {
        Content {
            name: &self.name,
            period: self.period.as_deref(),
            filters: &self.filters,
            widgets: &self.widgets,
        }
    }
}

/// The body checked, its segments among the project's shared ones (read in the request's
/// transaction).
async fn checked(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    body: &DashboardIn,
) -> ApiResult<Checked> {
    let shared = segments::list(conn, org, project, None).await?;
    let lookup = tenant::stats::segments::lookup_in(&shared);
    let name = crate::routes::orgs::clean_name(body.name.trim())?;
    let period = body
        .period
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if let Some(period) = period {
        tenant::dashboards::validate_period(period)?;
    }
    let filters = Value::Array(body.filters.clone());
    tenant::dashboards::validate_filters(&filters, &lookup)?;
    let widgets: Vec<Widget> = body.widgets.iter().cloned().map(Widget::from).collect();
    let stored = tenant::dashboards::validate_widgets(&widgets, &lookup)?;
    Ok(Checked {
        name,
        period: period.map(str::to_owned),
        filters,
        widgets: stored,
        funnels: tenant::dashboards::funnel_ids(&widgets),
    })
}

/// Refuses widgets showing a funnel the project does not have.
async fn check_funnels(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    wanted: &[Uuid],
) -> ApiResult<()> {
    if wanted.is_empty() {
        return Ok(());
    }
    let known = funnels::list(conn, org, project, None).await?;
    match wanted
        .iter()
        .find(|id| !known.iter().any(|f| f.funnel_id == **id))
    {
        Some(missing) => Err(ApiError::bad_request(
            ProblemKind::InvalidDashboard,
            format!("the project has no funnel {missing}"),
        )),
        None => Ok(()),
    }
}

/// Refuses a new dashboard past the project's limit.
async fn check_room(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> ApiResult<()> {
    if dashboards::count(conn, org, project).await? >= MAX_PER_PROJECT {
        return Err(ApiError::conflict(
            ProblemKind::Conflict,
            format!("a project keeps at most {MAX_PER_PROJECT} dashboards: delete one first"),
        ));
    }
    Ok(())
}

/// Custom dashboard operations.
#[derive(Default)]
pub struct DashboardsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl DashboardsApi {
    /// The project's custom dashboards, in their order.
    #[oai(
        path = "/:org_id/projects/:project_id/dashboards",
        method = "get",
        operation_id = "list_dashboards"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<DashboardSummary>>> {
        let (org, project) = (scope.org(), scope.project_id());
        let found = scope
            .run(async |conn| Ok::<_, ApiError>(dashboards::list(conn, org, project).await?))
            .await?;
        Ok(Json(found.into_iter().map(summary).collect()))
    }

    /// Create a dashboard (empty, or with widgets).
    #[oai(
        path = "/:org_id/projects/:project_id/dashboards",
        method = "post",
        operation_id = "create_dashboard"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<DashboardIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<DashboardOut>> {
        scope.entitlements.require(Feature::CustomDashboards)?;
        let (org, project, by) = (scope.org(), scope.project_id(), scope.access.user_id);
        let made = scope
            .run(async |conn| {
                let checked = checked(conn, org, project, &body).await?;
                check_room(conn, org, project).await?;
                check_funnels(conn, org, project, &checked.funnels).await?;
                let made = dashboards::create(conn, org, project, by, checked.content()).await?;
                let entry = Entry::new(Action::DashboardCreated, made.dashboard_id)
                    .with(Changes::created(audited_fields(&made)));
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(made)
            })
            .await?;
        Ok(Created::Created(Json(dashboard_out(made))))
    }

    /// One dashboard with its widgets.
    #[oai(
        path = "/:org_id/projects/:project_id/dashboards/:dashboard_id",
        method = "get",
        operation_id = "get_dashboard"
    )]
    async fn get(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        dashboard_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<DashboardOut>> {
        let (org, project) = (scope.org(), scope.project_id());
        let found = scope
            .run(async |conn| {
                Ok::<_, ApiError>(dashboards::find(conn, org, project, *dashboard_id).await?)
            })
            .await?
            .ok_or_else(|| ApiError::not_found("dashboard"))?;
        Ok(Json(dashboard_out(found)))
    }

    /// Replace a dashboard's content (name, period, filters, widgets and their places). The
    /// body names the `version` it read: when someone else saved since, the answer is 409
    /// `dashboard_conflict` and nothing changes.
    #[oai(
        path = "/:org_id/projects/:project_id/dashboards/:dashboard_id",
        method = "put",
        operation_id = "update_dashboard"
    )]
    async fn update(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        dashboard_id: Path<Uuid>,
        body: Json<DashboardChange>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Saved> {
        scope.entitlements.require(Feature::CustomDashboards)?;
        let (org, project, by) = (scope.org(), scope.project_id(), scope.access.user_id);
        let read = body.version;
        let saved = scope
            .run(async |conn| {
                let Some(before) = dashboards::find(conn, org, project, *dashboard_id).await?
                else {
                    return Err(ApiError::not_found("dashboard"));
                };
                let checked = checked(conn, org, project, &body.content).await?;
                check_funnels(conn, org, project, &checked.funnels).await?;
                let content = checked.content();
                let after =
                    match dashboards::update(conn, org, project, *dashboard_id, read, by, content)
                        .await?
                    {
                        Updated::Saved(after) => after,
                        Updated::Missing => return Err(ApiError::not_found("dashboard")),
                        Updated::Conflict(current) => {
                            return Err(ApiError::conflict(
                                ProblemKind::DashboardConflict,
                                format!(
                                    "someone else saved this dashboard after you opened it (you read version {read}, version {current} is current); nothing was saved: reload to see their change, then make yours again"
                                ),
                            ));
                        }
                    };
                let changes = Changes::diff(&audited_fields(&before), &audited_fields(&after));
                if !changes.is_empty() {
                    let entry = Entry::new(Action::DashboardUpdated, after.dashboard_id)
                        .with(changes);
                    audit::record(conn, org, entry).await?;
                }
                Ok(after)
            })
            .await?;
        Ok(Saved::Ok(Json(dashboard_out(*saved))))
    }

    /// Delete a dashboard, with its and its widgets' comment threads.
    #[oai(
        path = "/:org_id/projects/:project_id/dashboards/:dashboard_id",
        method = "delete",
        operation_id = "delete_dashboard"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        dashboard_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let (org, project) = (scope.org(), scope.project_id());
        scope
            .run(async |conn| {
                let Some(before) = dashboards::find(conn, org, project, *dashboard_id).await?
                else {
                    return Err(ApiError::not_found("dashboard"));
                };
                dashboards::delete(conn, org, project, *dashboard_id).await?;
                let about = dashboard_id.to_string();
                comments::forget(conn, org, project, (TargetKind::Dashboard, &about)).await?;
                let entry = Entry::new(Action::DashboardDeleted, before.dashboard_id)
                    .with(Changes::deleted(audited_fields(&before)));
                audit::record(conn, org, entry).await?;
                Ok(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Duplicate a dashboard: a copy named "… (copy)", placed last, not the default.
    #[oai(
        path = "/:org_id/projects/:project_id/dashboards/:dashboard_id/duplicate",
        method = "post",
        operation_id = "duplicate_dashboard"
    )]
    async fn duplicate(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        dashboard_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<DashboardOut>> {
        scope.entitlements.require(Feature::CustomDashboards)?;
        let (org, project, by) = (scope.org(), scope.project_id(), scope.access.user_id);
        let made = scope
            .run(async |conn| {
                let Some(original) = dashboards::find(conn, org, project, *dashboard_id).await?
                else {
                    return Err(ApiError::not_found("dashboard"));
                };
                check_room(conn, org, project).await?;
                let base: String = original.name.chars().take(93).collect();
                let name = format!("{base} (copy)");
                let content = Content {
                    name: &name,
                    period: original.period.as_deref(),
                    filters: &original.filters,
                    widgets: &original.widgets,
                };
                let made = dashboards::create(conn, org, project, by, content).await?;
                let entry = Entry::new(Action::DashboardCreated, made.dashboard_id).with(
                    Changes::created(audited_fields(&made)).set(
                        "duplicated_from",
                        json!(null),
                        json!(original.dashboard_id),
                    ),
                );
                audit::record(conn, org, entry).await?;
                Ok(made)
            })
            .await?;
        Ok(Created::Created(Json(dashboard_out(made))))
    }

    /// Order the project's dashboards and choose its default (or none).
    #[oai(
        path = "/:org_id/projects/:project_id/dashboard-arrangement",
        method = "put",
        operation_id = "arrange_dashboards"
    )]
    async fn arrange(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<ArrangementIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<Vec<DashboardSummary>>> {
        let (org, project) = (scope.org(), scope.project_id());
        let summaries = scope
            .run(async |conn| {
                let before = dashboards::list(conn, org, project).await?;
                let mut asked = body.order.clone();
                asked.sort_unstable();
                let mut have: Vec<Uuid> = before.iter().map(|d| d.dashboard_id).collect();
                have.sort_unstable();
                if asked != have {
                    return Err(ApiError::bad_request(
                        ProblemKind::InvalidDashboard,
                        "`order` names every dashboard of the project exactly once (reload: one was added or deleted)",
                    ));
                }
                if let Some(id) = body.default_id.filter(|id| !have.contains(id)) {
                    return Err(ApiError::bad_request(
                        ProblemKind::InvalidDashboard,
                        format!("the project has no dashboard {id}"),
                    ));
                }
                dashboards::reorder(conn, org, project, &body.order).await?;
                dashboards::set_default(conn, org, project, body.default_id).await?;
                let old_order: Vec<Uuid> = before.iter().map(|d| d.dashboard_id).collect();
                let old_default = before.iter().find(|d| d.is_default).map(|d| d.dashboard_id);
                let mut changes = Changes::default();
                if old_order != body.order {
                    changes = changes.set("order", json!(old_order), json!(body.order));
                }
                if old_default != body.default_id {
                    changes = changes.set("default_id", json!(old_default), json!(body.default_id));
                }
                if !changes.is_empty() {
                    let entry = Entry::new(Action::DashboardsArranged, project.uuid()).with(changes);
                    audit::record(conn, org, entry).await?;
                }
                Ok(dashboards::list(conn, org, project).await?)
            })
            .await?;
        Ok(Json(summaries.into_iter().map(summary).collect()))
    }
}
