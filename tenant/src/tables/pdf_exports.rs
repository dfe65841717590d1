//! `pdf_exports`: dashboard PDFs a worker job makes in the background, with their progress
//! (stats queries done of all) and, once made, the file itself.
//!
//! The PDF is a few kilobytes, so it is kept in the row: the server that offers the download
//! need not share a disk with the worker that made it. Rows older than [`KEPT_DAYS`] go when
//! the organization next asks for one.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::pdf_exports;
use crate::{OrgId, ProjectId};

/// How long a made PDF is kept.
pub const KEPT_DAYS: i64 = 7;

/// A background PDF (without its file).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = pdf_exports)]
pub struct PdfExport {
    /// Id.
    pub export_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// First day.
    pub period_from: NaiveDate,
    /// Last day.
    pub period_to: NaiveDate,
    /// `a4` or `letter`.
    pub paper: String,
    /// `pending`, `running`, `ready` or `failed`.
    pub status: String,
    /// Stats queries done.
    pub steps_done: i32,
    /// Stats queries in all (0 until the job starts).
    pub steps_total: i32,
    /// Why it failed.
    pub error: Option<String>,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Made (or failed) at.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What to make.
#[derive(Debug, Clone, Copy)]
pub struct NewPdf<'a> {
    /// Project.
    pub project: ProjectId,
    /// The days.
    pub period: (NaiveDate, NaiveDate),
    /// `a4` or `letter`.
    pub paper: &'a str,
    /// Who asked.
    pub by: Option<Uuid>,
}

/// Records a pending PDF, first dropping the organization's that are older than
/// [`KEPT_DAYS`].
pub async fn create(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    new: NewPdf<'_>,
    now: DateTime<Utc>,
) -> QueryResult<PdfExport> {
    diesel::delete(pdf_exports::table)
        .filter(pdf_exports::org_id.eq(org))
        .filter(pdf_exports::created_at.lt(now - chrono::Duration::days(KEPT_DAYS)))
        .execute(conn)
        .await?;
    diesel::insert_into(pdf_exports::table)
        .values((
            pdf_exports::org_id.eq(org),
            pdf_exports::export_id.eq(Uuid::now_v7()),
            pdf_exports::project_id.eq(new.project),
            pdf_exports::requested_by.eq(new.by),
            pdf_exports::period_from.eq(new.period.0),
            pdf_exports::period_to.eq(new.period.1),
            pdf_exports::paper.eq(new.paper),
            pdf_exports::created_at.eq(now),
        ))
        .returning(PdfExport::as_returning())
        .get_result(conn)
        .await
}

/// One PDF of a project.
pub async fn find(
    conn: &mut AsyncPgConnection,
    (org, project): (OrgId, ProjectId),
    id: Uuid,
) -> QueryResult<Option<PdfExport>> {
    pdf_exports::table
        .find((org, id))
        .filter(pdf_exports::project_id.eq(project))
        .select(PdfExport::as_select())
        .first(conn)
        .await
        .optional()
}

/// The file of a made PDF.
pub async fn body(
    conn: &mut AsyncPgConnection,
    (org, project): (OrgId, ProjectId),
    id: Uuid,
) -> QueryResult<Option<Vec<u8>>> {
    Ok(pdf_exports::table
        .find((org, id))
        .filter(pdf_exports::project_id.eq(project))
        .select(pdf_exports::body)
        .first::<Option<Vec<u8>>>(conn)
        .await
        .optional()?
        .flatten())
}

/// Marks it started with `total` steps; false when it is not pending (made, or taken).
pub async fn start(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: Uuid,
    total: i32,
) -> QueryResult<bool> {
    let started = diesel::update(pdf_exports::table.find((org, id)))
        .filter(pdf_exports::status.eq_any(["pending", "running"]))
        .set((
            pdf_exports::status.eq("running"),
            pdf_exports::steps_done.eq(0),
            pdf_exports::steps_total.eq(total),
        ))
        .execute(conn)
        .await?;
    Ok(started == 1)
}

/// Records `done` steps.
pub async fn progress(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: Uuid,
    done: i32,
) -> QueryResult<()> {
    diesel::update(pdf_exports::table.find((org, id)))
        .filter(pdf_exports::status.eq("running"))
        .set(pdf_exports::steps_done.eq(done))
        .execute(conn)
        .await?;
    Ok(())
}

/// Keeps the made file.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: Uuid,
    pdf: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(pdf_exports::table.find((org, id)))
        .set((
            pdf_exports::status.eq("ready"),
            pdf_exports::body.eq(pdf),
            pdf_exports::finished_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records why it could not be made.
pub async fn fail(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: Uuid,
    why: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let why: String = why.chars().take(500).collect();
    diesel::update(pdf_exports::table.find((org, id)))
        .set((
            pdf_exports::status.eq("failed"),
            pdf_exports::error.eq(why),
            pdf_exports::finished_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
