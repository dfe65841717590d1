//! Dashboard PDFs made in the background: for a long period, the dashboard asks a worker job to
//! make the PDF, shows its progress (stats queries done of all), and then offers the file. Short
//! periods download at once (`GET …/exports/dashboard`, in `file_exports.rs`).

use chrono::{DateTime, NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::tables::pdf_exports::{self, NewPdf, PdfExport};
use uuid::Uuid;
use worker::jobs::{Job, RenderDashboardPdf};

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::file_exports::{PaperSize, PdfResponse, attachment, file_safe};
use crate::scope::{ProjectScope, Viewer};
use crate::state::AppState;

/// A dashboard PDF being made, or made.
#[derive(Debug, Object)]
pub struct PdfJobOut {
    /// Id.
    pub export_id: Uuid,
    /// `pending` (queued), `running`, `ready` or `failed`.
    pub status: String,
    /// Stats queries done.
    pub steps_done: i32,
    /// Stats queries in all (0 until the job starts).
    pub steps_total: i32,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// `a4` or `letter`.
    pub paper: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Where to download it, once ready.
    pub download_url: Option<String>,
    /// Asked at.
    pub created_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
enum PdfJobQueued {
    /// Queued: follow `GET …/exports/dashboard/jobs/{export_id}`.
    #[oai(status = 202)]
    Accepted(Json<PdfJobOut>),
}

fn out(org: Uuid, job: PdfExport) -> PdfJobOut {
    let download_url = (job.status == "ready").then(|| {
        format!(
            "/api/v1/orgs/{org}/projects/{}/exports/dashboard/jobs/{}/file",
            job.project_id, job.export_id
        )
    });
    PdfJobOut {
        export_id: job.export_id,
        status: job.status,
        steps_done: job.steps_done,
        steps_total: job.steps_total,
        from: job.period_from,
        to: job.period_to,
        paper: job.paper,
        error: job.error,
        download_url,
        created_at: job.created_at,
    }
}

/// Background dashboard PDFs.
#[derive(Default)]
pub struct PdfJobsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl PdfJobsApi {
    /// Asks a worker to make the dashboard's PDF for `period` (as the dashboard's) on `paper`:
    /// for long periods, whose many queries take a while. Audited as `stats.dashboard_exported`.
    #[oai(
        path = "/:org_id/projects/:project_id/exports/dashboard/jobs",
        method = "post",
        operation_id = "create_dashboard_pdf_job"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        #[oai(validator(max_length = 30))] period: Query<Option<String>>,
        paper: Query<Option<PaperSize>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<PdfJobQueued> {
        let range = tenant::stats::request::parse_period(period.0.as_deref())?;
        let paper = paper.0.unwrap_or(PaperSize::A4).paper().as_str();
        let (org, project_id) = (scope.org(), scope.project_id());
        let by = scope.access.user_id.map(|user| user.uuid());
        let project = scope.project.clone();
        let now = state.clock.now();
        let job = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &project.timezone, now).await?;
                let (from, to) = range.resolve(today, project.created_at.date_naive());
                let new = NewPdf {
                    project: project_id,
                    period: (from, to),
                    paper,
                    by,
                };
                let job = pdf_exports::create(conn, org, new, now).await?;
                let render = RenderDashboardPdf {
                    org_id: org.uuid(),
                    project_id: project_id.uuid(),
                    export_id: job.export_id,
                };
                worker::queue::enqueue(conn, &Job::RenderDashboardPdf(render)).await?;
                let changes = Changes::default()
                    .set(
                        "date_range",
                        json!(null),
                        json!([from.to_string(), to.to_string()]),
                    )
                    .set("background", json!(null), json!(true));
                let entry = Entry::new(Action::DashboardExported, project_id.uuid()).with(changes);
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(job)
            })
            .await?;
        Ok(PdfJobQueued::Accepted(Json(out(org.uuid(), job))))
    }

    /// A background PDF's state and progress, and its download link once ready.
    #[oai(
        path = "/:org_id/projects/:project_id/exports/dashboard/jobs/:export_id",
        method = "get",
        operation_id = "get_dashboard_pdf_job"
    )]
    async fn get(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        export_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<PdfJobOut>> {
        let (org, project_id) = (scope.org(), scope.project_id());
        let job = scope
            .run(async |conn| {
                Ok::<_, ApiError>(pdf_exports::find(conn, (org, project_id), *export_id).await?)
            })
            .await?
            .ok_or_else(|| ApiError::not_found("PDF"))?;
        Ok(Json(out(org.uuid(), job)))
    }

    /// A background PDF's file (404 until it is ready).
    #[oai(
        path = "/:org_id/projects/:project_id/exports/dashboard/jobs/:export_id/file",
        method = "get",
        operation_id = "download_dashboard_pdf_job"
    )]
    async fn file(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        export_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<PdfResponse> {
        let (org, project_id) = (scope.org(), scope.project_id());
        let name = file_safe(&scope.project.name);
        let found = scope
            .run(async |conn| {
                let job = pdf_exports::find(conn, (org, project_id), *export_id).await?;
                let body = pdf_exports::body(conn, (org, project_id), *export_id).await?;
                Ok::<_, ApiError>(job.zip(body))
            })
            .await?;
        let (job, pdf) = found.ok_or_else(|| ApiError::not_found("PDF (not made yet)"))?;
        let name = format!("{name}-{}-{}.pdf", job.period_from, job.period_to);
        Ok(PdfResponse::Pdf(Binary(pdf), attachment(&name)))
    }
}
