//! `dashboards`: a project's custom dashboards, each one row holding its widgets as JSON.
//!
//! Every change names the `version` it read and raises it; a change naming an older version
//! finds no row to update and is refused as a conflict, so two people editing one dashboard
//! never overwrite each other silently. What a valid widget is lives in
//! [`crate::dashboards`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::schema::dashboards;
use crate::{OrgId, ProjectId, UserId};

/// Most dashboards one project keeps.
pub const MAX_PER_PROJECT: i64 = 100;

/// A dashboard.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = dashboards)]
pub struct Dashboard {
    /// Id.
    pub dashboard_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Name.
    pub name: String,
    /// Place among the project's dashboards (smallest first).
    pub position: i32,
    /// The project's default dashboard.
    pub is_default: bool,
    /// Raised by every change.
    pub version: i32,
    /// Period every widget without its own reads (`None`: the viewer's choice, 30 days).
    pub period: Option<String>,
    /// Stats API filter expressions applied to every widget.
    pub filters: Value,
    /// The widgets ([`crate::dashboards::Widget`] as JSON).
    pub widgets: Value,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// Who changed it last.
    pub updated_by: Option<Uuid>,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// A dashboard's editable content.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    /// Name.
    pub name: &'a str,
    /// Period.
    pub period: Option<&'a str>,
    /// Validated filter expressions.
    pub filters: &'a Value,
    /// Validated widgets.
    pub widgets: &'a Value,
}

/// What an update found.
#[derive(Debug)]
pub enum Updated {
    /// Saved: the dashboard as it now is.
    Saved(Box<Dashboard>),
    /// Another change landed first: the version now current.
    Conflict(i32),
    /// No such dashboard.
    Missing,
}

fn of_project(org: OrgId, project: ProjectId) -> dashboards::BoxedQuery<'static, diesel::pg::Pg> {
    dashboards::table
        .filter(dashboards::org_id.eq(org))
        .filter(dashboards::project_id.eq(project))
        .into_boxed()
}

/// The project's dashboards in their order.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<Vec<Dashboard>> {
    of_project(org, project)
        .select(Dashboard::as_select())
        .order((dashboards::position, dashboards::created_at))
        .limit(MAX_PER_PROJECT)
        .load(conn)
        .await
}

/// One dashboard of the project.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    dashboard_id: Uuid,
) -> QueryResult<Option<Dashboard>> {
    of_project(org, project)
        .filter(dashboards::dashboard_id.eq(dashboard_id))
        .select(Dashboard::as_select())
        .first(conn)
        .await
        .optional()
}

/// How many dashboards the project keeps.
pub async fn count(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<i64> {
    of_project(org, project).count().get_result(conn).await
}

/// Saves a new dashboard after the project's others.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    by: Option<UserId>,
    content: Content<'_>,
) -> QueryResult<Dashboard> {
    let last: Option<i32> = of_project(org, project)
        .select(diesel::dsl::max(dashboards::position))
        .first(conn)
        .await?;
    diesel::insert_into(dashboards::table)
        .values((
            dashboards::org_id.eq(org),
            dashboards::dashboard_id.eq(Uuid::now_v7()),
            dashboards::project_id.eq(project),
            dashboards::name.eq(content.name),
            dashboards::position.eq(last.map_or(0, |p| p + 1)),
            dashboards::period.eq(content.period),
            dashboards::filters.eq(content.filters),
            dashboards::widgets.eq(content.widgets),
            dashboards::created_by.eq(by.map(UserId::uuid)),
            dashboards::updated_by.eq(by.map(UserId::uuid)),
        ))
        .returning(Dashboard::as_returning())
        .get_result(conn)
        .await
}

/// Replaces the content of the dashboard at `version`, raising it.
pub async fn update(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    dashboard_id: Uuid,
    version: i32,
    by: Option<UserId>,
    content: Content<'_>,
) -> QueryResult<Updated> {
    let saved = diesel::update(dashboards::table.find((org, dashboard_id)))
        .filter(dashboards::project_id.eq(project))
        .filter(dashboards::version.eq(version))
        .set((
            dashboards::name.eq(content.name),
            dashboards::period.eq(content.period),
            dashboards::filters.eq(content.filters),
            dashboards::widgets.eq(content.widgets),
            dashboards::version.eq(dashboards::version + 1),
            dashboards::updated_by.eq(by.map(UserId::uuid)),
            dashboards::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Dashboard::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(saved) = saved {
        return Ok(Updated::Saved(Box::new(saved)));
    }
    Ok(match find(conn, org, project, dashboard_id).await? {
        Some(current) => Updated::Conflict(current.version),
        None => Updated::Missing,
    })
}

/// Deletes a dashboard; whether it was there.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    dashboard_id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(dashboards::table.find((org, dashboard_id)))
        .filter(dashboards::project_id.eq(project))
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}

/// Puts the project's dashboards in the order of `ids` (which must name each exactly once;
/// the caller checks). The order is not content: versions stay.
pub async fn reorder(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    ids: &[Uuid],
) -> QueryResult<()> {
    for (position, id) in ids.iter().enumerate() {
        diesel::update(dashboards::table.find((org, *id)))
            .filter(dashboards::project_id.eq(project))
            .set(dashboards::position.eq(i32::try_from(position).unwrap_or(i32::MAX)))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Makes `dashboard_id` the project's default (`None`: no default); whether it was there.
pub async fn set_default(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    dashboard_id: Option<Uuid>,
) -> QueryResult<bool> {
    diesel::update(dashboards::table)
        .filter(dashboards::org_id.eq(org))
        .filter(dashboards::project_id.eq(project))
        .filter(dashboards::is_default)
        .set(dashboards::is_default.eq(false))
        .execute(conn)
        .await?;
    let Some(id) = dashboard_id else {
        return Ok(true);
    };
    diesel::update(dashboards::table.find((org, id)))
        .filter(dashboards::project_id.eq(project))
        .set(dashboards::is_default.eq(true))
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}
