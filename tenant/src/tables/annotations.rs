//! `annotations`: notes pinned to a moment of a project ("v2.3 deployed"), drawn as markers on
//! its time series.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::annotations;
use crate::{OrgId, ProjectId, UserId};

/// Most annotations one listing answers (a period's).
pub const MAX_LISTED: i64 = 500;

/// An annotation.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = annotations)]
pub struct Annotation {
    /// Id.
    pub annotation_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// The moment.
    pub at: DateTime<Utc>,
    /// The note.
    pub text: String,
    /// Who wrote it.
    pub created_by: Option<Uuid>,
    /// Written at.
    pub created_at: DateTime<Utc>,
}

/// Saves an annotation.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    at: DateTime<Utc>,
    text: &str,
    by: Option<UserId>,
) -> QueryResult<Annotation> {
    diesel::insert_into(annotations::table)
        .values((
            annotations::org_id.eq(org),
            annotations::annotation_id.eq(Uuid::now_v7()),
            annotations::project_id.eq(project),
            annotations::at.eq(at),
            annotations::text.eq(text),
            annotations::created_by.eq(by.map(UserId::uuid)),
        ))
        .returning(Annotation::as_returning())
        .get_result(conn)
        .await
}

/// The project's annotations on the days `from` to `to` (inclusive) in `timezone`, oldest
/// first.
pub async fn on_days(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    timezone: &str,
    (from, to): (NaiveDate, NaiveDate),
) -> QueryResult<Vec<Annotation>> {
    let within = sql::<Bool>("at >= (")
        .bind::<Date, _>(from)
        .sql("::timestamp AT TIME ZONE ")
        .bind::<Text, _>(timezone.to_owned())
        .sql(") AND at < ((")
        .bind::<Date, _>(to)
        .sql(" + 1)::timestamp AT TIME ZONE ")
        .bind::<Text, _>(timezone.to_owned())
        .sql(")");
    annotations::table
        .filter(annotations::org_id.eq(org))
        .filter(annotations::project_id.eq(project))
        .filter(within)
        .select(Annotation::as_select())
        .order((annotations::at, annotations::annotation_id))
        .limit(MAX_LISTED)
        .load(conn)
        .await
}

/// One annotation of the project.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    id: Uuid,
) -> QueryResult<Option<Annotation>> {
    annotations::table
        .find((org, id))
        .filter(annotations::project_id.eq(project))
        .select(Annotation::as_select())
        .first(conn)
        .await
        .optional()
}

/// Deletes an annotation; whether it was there.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(annotations::table.find((org, id)))
        .filter(annotations::project_id.eq(project))
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}
