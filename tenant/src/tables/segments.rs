//! `segments`: named Stats API filter sets of a project ("Mobile visitors from Germany on
//! /pricing"), personal or shared with the organization.
//!
//! A personal segment is seen by its owner only; a shared one by every member and API key of
//! the organization. What the filters mean, and how a query uses a segment, is
//! [`crate::stats::segments`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::schema::segments;
use crate::{OrgId, ProjectId, UserId};

/// Most segments one project keeps.
pub const MAX_PER_PROJECT: i64 = 200;

/// A segment.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = segments)]
pub struct Segment {
    /// Id.
    pub segment_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Name.
    pub name: String,
    /// Stats API filter expressions.
    pub filters: Value,
    /// Who made it (`None`: an API key).
    pub owner_id: Option<Uuid>,
    /// Seen by the whole organization.
    pub shared: bool,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// A segment's editable fields.
#[derive(Debug, Clone)]
pub struct SegmentFields<'a> {
    /// Name.
    pub name: &'a str,
    /// Validated filter expressions.
    pub filters: &'a Value,
    /// Shared with the organization.
    pub shared: bool,
}

/// Who is looking: a user sees shared segments and their own; an API key (`None`) sees
/// shared ones.
fn visible_to(
    viewer: Option<UserId>,
) -> Box<dyn BoxableExpression<segments::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>
{
    match viewer {
        Some(user) => {
            Box::new(segments::shared.or(segments::owner_id.eq(user.uuid()).assume_not_null()))
        }
        None => Box::new(segments::shared),
    }
}

/// The project's segments `viewer` may see, by name.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    viewer: Option<UserId>,
) -> QueryResult<Vec<Segment>> {
    segments::table
        .filter(segments::org_id.eq(org))
        .filter(segments::project_id.eq(project))
        .filter(visible_to(viewer))
        .select(Segment::as_select())
        .order((segments::name, segments::segment_id))
        .limit(MAX_PER_PROJECT)
        .load(conn)
        .await
}

/// The segments among `ids` that `viewer` may see in the project.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    viewer: Option<UserId>,
    ids: &[Uuid],
) -> QueryResult<Vec<Segment>> {
    segments::table
        .filter(segments::org_id.eq(org))
        .filter(segments::project_id.eq(project))
        .filter(segments::segment_id.eq_any(ids))
        .filter(visible_to(viewer))
        .select(Segment::as_select())
        .load(conn)
        .await
}

/// How many segments the project keeps (all owners).
pub async fn count(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<i64> {
    segments::table
        .filter(segments::org_id.eq(org))
        .filter(segments::project_id.eq(project))
        .count()
        .get_result(conn)
        .await
}

/// Saves a new segment.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    owner: Option<UserId>,
    fields: SegmentFields<'_>,
) -> QueryResult<Segment> {
    diesel::insert_into(segments::table)
        .values((
            segments::org_id.eq(org),
            segments::segment_id.eq(Uuid::now_v7()),
            segments::project_id.eq(project),
            segments::name.eq(fields.name),
            segments::filters.eq(fields.filters),
            segments::owner_id.eq(owner.map(UserId::uuid)),
            segments::shared.eq(fields.shared),
        ))
        .returning(Segment::as_returning())
        .get_result(conn)
        .await
}

/// Replaces a segment's fields; `None` when it is not there.
pub async fn update(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    segment_id: Uuid,
    fields: SegmentFields<'_>,
) -> QueryResult<Option<Segment>> {
    diesel::update(segments::table.find((org, segment_id)))
        .filter(segments::project_id.eq(project))
        .set((
            segments::name.eq(fields.name),
            segments::filters.eq(fields.filters),
            segments::shared.eq(fields.shared),
            segments::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Segment::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Deletes a segment; whether it was there.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    segment_id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(segments::table.find((org, segment_id)))
        .filter(segments::project_id.eq(project))
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}
