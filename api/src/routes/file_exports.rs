//! A project's numbers as files: every row of any Stats API query and the project's error
//! issues, as CSV or JSON, and a ZIP of every breakdown of a period (as Plausible offers).
//!
//! The CSV and JSON files are streamed: rows go from PostgreSQL through a bounded channel to
//! the response as they are read (`tenant::stats::export`), so memory stays constant however
//! many rows there are and the download starts at once (no job, no temporary file). The ZIP is
//! written to a temporary file first (a ZIP's directory comes last), then streamed and removed.
//! Each export is recorded in the audit log before its rows are read, and runs in the caller's
//! organization scope: a caller exports only what they may query.

use std::io::Write;

use poem::Body;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::reports::{Detail, Period, compose_period};
use tenant::stats::export::{self, Encoder, Format, send_rows};
use tenant::stats::{StatsQuery, StatsRow};
use tenant::tables::error_issues::{self, ExportedIssue};
use tenant::{Db, DbError, OrgId, ProjectId};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::stats::find_project;
use super::stats_contract::{Described, StatsQueryDoc};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::scope::{ProjectScope, Viewer};
use crate::state::AppState;

/// Rows in flight between the database and the response.
const CHANNEL_ROWS: usize = 2_048;
/// Rows encoded into one chunk of the response.
const CHUNK_ROWS: usize = 512;
/// Issues read per transaction by the issues export.
const ISSUE_BATCH: i64 = 1_000;
/// Stats exports and ZIPs running at once in this process: each holds a database connection
/// while it streams, so a burst of downloads cannot take the pool from everything else.
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// A place among the [`RUNNING`] exports, or 429 (retry in a few seconds).
fn running_slot() -> ApiResult<tokio::sync::SemaphorePermit<'static>> {
    RUNNING.try_acquire().map_err(|_| ApiError {
        detail: "four exports are already being downloaded: retry in a few seconds".into(),
        ..ApiError::too_many_requests(5)
    })
}

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum FileFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON document.
    Json,
}

impl FileFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }
}

/// An export file, streamed.
#[derive(ApiResponse)]
pub enum FileResponse {
    /// CSV: a header row, then one row per result.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>, #[oai(header = "Content-Disposition")] String),
    /// JSON: one document.
    #[oai(status = 200, content_type = "application/json")]
    Json(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

/// A ZIP of CSV files.
#[derive(ApiResponse)]
pub enum ZipResponse {
    /// The archive: one CSV per breakdown.
    #[oai(status = 200, content_type = "application/zip")]
    Zip(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

fn file(format: FileFormat, body: Body, name: &str) -> FileResponse {
    let disposition = attachment(&format!("{name}.{}", format.extension()));
    match format {
        FileFormat::Csv => FileResponse::Csv(Binary(body), disposition),
        FileFormat::Json => FileResponse::Json(Binary(body), disposition),
    }
}

/// The `Content-Disposition` of a download named `name`.
pub(crate) fn attachment(name: &str) -> String {
    format!("attachment; filename=\"{name}\"")
}

/// A name safe in a file name: letters, digits, `.` and `-`.
pub(crate) fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The body of a stats export: `encoder`'s start, every row of `query` read in `org`'s scope by
/// a task of its own, and its end (saying whether every row came).
fn stats_body(
    db: Db,
    org: OrgId,
    (query, encoder): (StatsQuery, Encoder),
    head: String,
    slot: tokio::sync::SemaphorePermit<'static>,
) -> Body {
    let (rows, received) = mpsc::channel::<StatsRow>(CHANNEL_ROWS);
    let reader = tokio::spawn(async move {
        let _slot = slot;
        db.scoped(org, async |conn| send_rows(conn, &query, &rows).await)
            .await
    });
    struct Streaming {
        received: mpsc::Receiver<StatsRow>,
        encoder: Encoder,
        reader: Option<tokio::task::JoinHandle<Result<u64, tenant::stats::StatsError>>>,
        head: Option<String>,
    }
    let start = Streaming {
        received,
        encoder,
        reader: Some(reader),
        head: Some(head),
    };
    let stream = futures::stream::unfold(start, |mut streaming| async move {
        if let Some(head) = streaming.head.take() {
            return Some((Ok::<_, std::io::Error>(head.into_bytes()), streaming));
        }
        let reader = streaming.reader.take()?;
        let mut batch = Vec::with_capacity(CHUNK_ROWS);
        if streaming.received.recv_many(&mut batch, CHUNK_ROWS).await > 0 {
            streaming.reader = Some(reader);
            let mut text = String::new();
            streaming.encoder.rows(&batch, &mut text);
            return Some((Ok(text.into_bytes()), streaming));
        }
        let complete = match reader.await {
            Ok(Ok(sent)) => (sent as i64) < export::MAX_ROWS,
            Ok(Err(error)) => {
                tracing::error!(%error, "stats export: reading rows failed");
                false
            }
            Err(error) => {
                tracing::error!(%error, "stats export: the reader ended");
                false
            }
        };
        let tail = streaming.encoder.finish(complete);
        Some((Ok(tail.into_bytes()), streaming))
    });
    Body::from_bytes_stream(stream)
}

/// A PDF.
#[derive(ApiResponse)]
pub enum PdfResponse {
    /// The document.
    #[oai(status = 200, content_type = "application/pdf")]
    Pdf(
        Binary<Vec<u8>>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

/// Paper sizes of the PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum PaperSize {
    /// ISO A4.
    A4,
    /// US Letter.
    Letter,
}

impl PaperSize {
    /// The paper the PDF is laid out on.
    pub fn paper(self) -> worker::pdf::layout::Paper {
        match self {
            PaperSize::A4 => worker::pdf::layout::Paper::A4,
            PaperSize::Letter => worker::pdf::layout::Paper::Letter,
        }
    }
}

/// File exports.
#[derive(Default)]
pub struct FileExportsApi;

#[OpenApi(tag = "ApiTags::Stats")]
impl FileExportsApi {
    /// Every row of a Stats API query (the body of `POST /api/v2/query`; `pagination` is
    /// ignored) as CSV or JSON, streamed. Time dimensions are the project's local days and
    /// hours, as in the API. At most 5,000,000 rows (a file cut short says so at its end).
    #[oai(
        path = "/api/v2/query/export",
        method = "post",
        operation_id = "export_stats"
    )]
    async fn export_stats(
        &self,
        req: &poem::Request,
        state: Data<&AppState>,
        auth: Auth,
        format: Query<FileFormat>,
        body: Json<Described<StatsQueryDoc>>,
    ) -> ApiResult<FileResponse> {
        let site_id = tenant::stats::segments::site_of(&body)?;
        let (org, project) = find_project(&state, &auth, &site_id).await?;
        let slot = running_slot()?;
        let viewer = auth.0.person();
        let now = state.clock.now();
        let format = format.0;
        let actor = auth.0.actor();
        let context = crate::scope::request_context(req, &state);
        let (query, request) = state
            .db
            .scoped_as_for(org, &actor, &context, async |conn| {
                let project_id = tenant::ProjectId::from_uuid(project.project_id);
                let request =
                    tenant::stats::segments::parse(conn, org, project_id, viewer, &body).await?;
                let today = tenant::stats::today(conn, &project.timezone, now).await?;
                let query = tenant::stats::answer::query_for(&project, &request, today);
                let changes = Changes::default()
                    .set("format", json!(null), json!(format.extension()))
                    .set("metrics", json!(null), json!(request.metric_names))
                    .set("dimensions", json!(null), json!(request.dimension_names))
                    .set(
                        "date_range",
                        json!(null),
                        json!([query.from.to_string(), query.to.to_string()]),
                    );
                let entry = Entry::new(Action::StatsExported, project.project_id).with(changes);
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>((query, request))
            })
            .await?;
        let name = format!(
            "{}-{}-{}",
            file_safe(&request.site_id),
            query.from,
            query.to
        );
        let encoder = Encoder::new(
            match format {
                FileFormat::Csv => Format::Csv,
                FileFormat::Json => Format::Json,
            },
            query.clone(),
            request.dimension_names.clone(),
            request.metric_names.clone(),
        );
        let head = encoder.start(&request.site_id);
        let body = stats_body(state.db.clone(), org, (query, encoder), head, slot);
        Ok(file(format, body, &name))
    }

    /// The project's error issues (optionally of one `status`) as CSV or JSON, streamed, with
    /// times in the project's time zone (`2026-11-20T09:30:00+01:00`).
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/issues/export",
        method = "get",
        operation_id = "export_issues",
        tag = "ApiTags::Errors"
    )]
    async fn export_issues(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        format: Query<FileFormat>,
        #[oai(validator(max_length = 20))] status: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<FileResponse> {
        let status = status.0.filter(|s| !s.is_empty());
        if let Some(status) = &status
            && !["unresolved", "resolved", "ignored"].contains(&status.as_str())
        {
            return Err(ApiError::invalid(
                tenant::problem::ProblemKind::InvalidRequest,
                "`status` is unresolved, resolved or ignored",
            ));
        }
        let (org, project) = (scope.org(), scope.project_id());
        let timezone = scope.project.timezone.clone();
        let name = format!("{}-issues", file_safe(&scope.project.name));
        let format = format.0;
        scope
            .run(async |conn| {
                let changes = Changes::default()
                    .set("format", json!(null), json!(format.extension()))
                    .set("status", json!(null), json!(status));
                let entry = Entry::new(Action::IssuesExported, project.uuid()).with(changes);
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
        let body = issues_body(state.db.clone(), (org, project), timezone, status, format);
        Ok(file(format, body, &name))
    }

    /// A ZIP of every breakdown of a period, one CSV each (visitors by day, pages, entry and
    /// exit pages, sources, UTM parameters, countries, regions, cities, devices, browsers,
    /// operating systems, custom events, goal conversions), every row. `period`: as the
    /// dashboard's (`7d`, `30d`, `month`, … or `YYYY-MM-DD,YYYY-MM-DD`).
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/exports/breakdowns",
        method = "get",
        operation_id = "export_breakdowns"
    )]
    async fn export_breakdowns(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        #[oai(validator(max_length = 30))] period: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<ZipResponse> {
        let range = tenant::stats::request::parse_period(period.0.as_deref())?;
        let _slot = running_slot()?;
        let org = scope.org();
        let project = scope.project.clone();
        let now = state.clock.now();
        let path = state
            .exports_dir
            .join(format!("breakdowns-{}.zip", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&state.exports_dir)
            .map_err(|error| ApiError::internal(format!("export directory: {error}")))?;
        let days = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &project.timezone, now).await?;
                let days = range.resolve(today, project.created_at.date_naive());
                let changes = Changes::default().set(
                    "date_range",
                    json!(null),
                    json!([days.0.to_string(), days.1.to_string()]),
                );
                let entry =
                    Entry::new(Action::BreakdownsExported, project.project_id).with(changes);
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(days)
            })
            .await?;
        let written = write_breakdowns(&state.db, org, &project, days, &path).await;
        let opened = match written {
            Ok(()) => tokio::fs::File::open(&path)
                .await
                .map_err(|error| ApiError::internal(format!("reading the export: {error}"))),
            Err(error) => Err(error),
        };
        // The open file stays readable after its name is gone.
        let _ = std::fs::remove_file(&path);
        let name = format!("{}-{}-{}.zip", file_safe(&project.name), days.0, days.1);
        Ok(ZipResponse::Zip(
            Binary(Body::from_async_read(opened?)),
            attachment(&name),
        ))
    }
}

#[OpenApi(tag = "ApiTags::Stats")]
impl DashboardPdfApi {
    /// The dashboard of a period as a PDF for A4 (default) or Letter: headline metrics against
    /// the period before, visitors per day, every breakdown's top rows, goal conversions, new
    /// and regressed errors, Web Vitals. No table row or chart is cut across pages. `period`:
    /// as the dashboard's (`7d`, `30d`, `month`, … or `YYYY-MM-DD,YYYY-MM-DD`).
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/exports/dashboard",
        method = "get",
        operation_id = "export_dashboard_pdf"
    )]
    async fn export_dashboard(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        #[oai(validator(max_length = 30))] period: Query<Option<String>>,
        paper: Query<Option<PaperSize>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<PdfResponse> {
        let range = tenant::stats::request::parse_period(period.0.as_deref())?;
        let paper = paper.0.unwrap_or(PaperSize::A4).paper();
        let org = scope.org();
        let project = scope.project.clone();
        let now = state.clock.now();
        let content = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &project.timezone, now).await?;
                let (from, to) = range.resolve(today, project.created_at.date_naive());
                let period = Period { from, to };
                let periods = (period, period.before());
                let content = compose_period(conn, &project, periods, Detail::Dashboard).await?;
                let changes = Changes::default().set(
                    "date_range",
                    json!(null),
                    json!([from.to_string(), to.to_string()]),
                );
                let entry = Entry::new(Action::DashboardExported, project.project_id).with(changes);
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(content)
            })
            .await?;
        let timezone = project.timezone.clone();
        let name = format!(
            "{}-{}-{}.pdf",
            file_safe(&project.name),
            content.period.from,
            content.period.to
        );
        let pdf =
            tokio::task::spawn_blocking(move || worker::pdf::dashboard(&content, &timezone, paper))
                .await
                .map_err(ApiError::internal)?;
        Ok(PdfResponse::Pdf(Binary(pdf), attachment(&name)))
    }
}

/// Dashboard PDFs.
#[derive(Default)]
pub struct DashboardPdfApi;

/// Each file of the breakdowns ZIP: name, dimension, metrics.
const BREAKDOWNS: &[(&str, &str, &[&str])] = &[
    (
        "visitors.csv",
        "time:day",
        &[
            "visitors",
            "visits",
            "pageviews",
            "views_per_visit",
            "bounce_rate",
            "visit_duration",
        ],
    ),
    ("pages.csv", "event:page", &["visitors", "pageviews"]),
    (
        "entry_pages.csv",
        "visit:entry_page",
        &["visitors", "visits", "bounce_rate", "visit_duration"],
    ),
    ("exit_pages.csv", "visit:exit_page", &["visitors", "visits"]),
    (
        "sources.csv",
        "visit:source",
        &["visitors", "visits", "bounce_rate", "visit_duration"],
    ),
    (
        "utm_sources.csv",
        "visit:utm_source",
        &["visitors", "visits"],
    ),
    (
        "utm_mediums.csv",
        "visit:utm_medium",
        &["visitors", "visits"],
    ),
    (
        "utm_campaigns.csv",
        "visit:utm_campaign",
        &["visitors", "visits"],
    ),
    (
        "utm_contents.csv",
        "visit:utm_content",
        &["visitors", "visits"],
    ),
    ("utm_terms.csv", "visit:utm_term", &["visitors", "visits"]),
    ("countries.csv", "visit:country", &["visitors"]),
    ("regions.csv", "visit:region", &["visitors"]),
    ("cities.csv", "visit:city", &["visitors"]),
    ("devices.csv", "visit:device", &["visitors"]),
    ("browsers.csv", "visit:browser", &["visitors"]),
    ("operating_systems.csv", "visit:os", &["visitors"]),
    ("custom_events.csv", "event:name", &["visitors", "events"]),
    (
        "conversions.csv",
        "event:goal",
        &["visitors", "events", "conversion_rate"],
    ),
];

/// Writes the breakdowns ZIP of `days` to `path`, every breakdown in one transaction (one
/// consistent snapshot), each streamed from PostgreSQL into its CSV entry.
async fn write_breakdowns(
    db: &Db,
    org: OrgId,
    project: &tenant::tables::projects::Project,
    days: (chrono::NaiveDate, chrono::NaiveDate),
    path: &std::path::Path,
) -> ApiResult<()> {
    let failed = |error: std::io::Error| ApiError::internal(format!("writing the export: {error}"));
    let created = std::fs::File::create_new(path).map_err(failed)?;
    let mut zip = zip::ZipWriter::new(created);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let site = project.name.clone();
    let result = db
        .scoped(org, async |conn| {
            for (file_name, dimension, metrics) in BREAKDOWNS {
                let body = json!({
                    "site_id": site, "metrics": metrics, "dimensions": [dimension],
                    "date_range": [days.0.to_string(), days.1.to_string()],
                });
                let request = tenant::stats::request::parse(&body)?;
                let query = tenant::stats::answer::query_for(project, &request, days.1);
                let mut encoder = Encoder::new(
                    Format::Csv,
                    query.clone(),
                    request.dimension_names.clone(),
                    request.metric_names.clone(),
                );
                zip.start_file(*file_name, options)
                    .map_err(|error| ApiError::internal(format!("writing the export: {error}")))?;
                zip.write_all(encoder.start(&site).as_bytes())
                    .map_err(failed)?;
                let (rows, mut received) = mpsc::channel::<StatsRow>(CHANNEL_ROWS);
                let reading = async {
                    let sent = send_rows(conn, &query, &rows).await;
                    drop(rows);
                    sent
                };
                let writing = async {
                    let mut batch = Vec::with_capacity(CHUNK_ROWS);
                    while received.recv_many(&mut batch, CHUNK_ROWS).await > 0 {
                        let mut text = String::new();
                        encoder.rows(&batch, &mut text);
                        batch.clear();
                        zip.write_all(text.as_bytes()).map_err(failed)?;
                    }
                    Ok::<_, ApiError>(())
                };
                let (sent, written) = tokio::join!(reading, writing);
                written?;
                let complete = (sent? as i64) < export::MAX_ROWS;
                zip.write_all(encoder.finish(complete).as_bytes())
                    .map_err(failed)?;
            }
            Ok::<_, ApiError>(())
        })
        .await;
    let finished = result.and_then(|()| {
        zip.finish()
            .map(drop)
            .map_err(|error| ApiError::internal(format!("writing the export: {error}")))
    });
    if finished.is_err() {
        let _ = std::fs::remove_file(path);
    }
    finished
}

const ISSUE_COLUMNS: &str =
    "issue_id,title,culprit,level,status,first_seen,last_seen,events,first_release,last_release\n";

fn issue_csv(issue: &ExportedIssue) -> String {
    let text = |value: &str| tenant::csv::field(value);
    format!(
        "{},{},{},{},{},{},{},{},{},{}\n",
        issue.issue_id,
        text(&issue.title),
        text(issue.culprit.as_deref().unwrap_or("")),
        text(&issue.level),
        text(&issue.status),
        issue.first_seen,
        issue.last_seen,
        issue.times_seen,
        text(issue.first_release.as_deref().unwrap_or("")),
        text(issue.last_release.as_deref().unwrap_or("")),
    )
}

fn issue_json(issue: &ExportedIssue) -> serde_json::Value {
    json!({
        "id": issue.issue_id, "title": issue.title, "culprit": issue.culprit,
        "level": issue.level, "status": issue.status, "first_seen": issue.first_seen,
        "last_seen": issue.last_seen, "events": issue.times_seen,
        "first_release": issue.first_release, "last_release": issue.last_release,
    })
}

/// The issues export: [`ISSUE_BATCH`] issues per read, each read its own transaction (no
/// transaction is held while the client downloads), by id.
fn issues_body(
    db: Db,
    (org, project): (OrgId, ProjectId),
    timezone: String,
    status: Option<String>,
    format: FileFormat,
) -> Body {
    struct Cursor {
        db: Db,
        after: Option<Uuid>,
        started: bool,
        done: bool,
        first_row: bool,
    }
    let start = Cursor {
        db,
        after: None,
        started: false,
        done: false,
        first_row: true,
    };
    let stream = futures::stream::unfold(start, move |mut cursor| {
        let (timezone, status) = (timezone.clone(), status.clone());
        async move {
            if !cursor.started {
                cursor.started = true;
                let head = match format {
                    FileFormat::Csv => ISSUE_COLUMNS.to_owned(),
                    FileFormat::Json => {
                        format!("{{\"timezone\":{},\"issues\":[", json!(timezone))
                    }
                };
                return Some((Ok::<_, std::io::Error>(head.into_bytes()), cursor));
            }
            if cursor.done {
                return None;
            }
            let after = cursor.after;
            let batch = cursor
                .db
                .scoped(org, async |conn| {
                    Ok::<_, DbError>(
                        error_issues::export_batch(
                            conn,
                            (org, project),
                            &timezone,
                            status.as_deref(),
                            after,
                            ISSUE_BATCH,
                        )
                        .await?,
                    )
                })
                .await;
            let batch = match batch {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(%error, "issues export: reading issues failed");
                    cursor.done = true;
                    return Some((Err(std::io::Error::other("reading issues failed")), cursor));
                }
            };
            cursor.done = (batch.len() as i64) < ISSUE_BATCH;
            cursor.after = batch.last().map(|issue| issue.issue_id);
            let mut chunk = String::new();
            for issue in &batch {
                match format {
                    FileFormat::Csv => chunk.push_str(&issue_csv(issue)),
                    FileFormat::Json => {
                        if !cursor.first_row {
                            chunk.push(',');
                        }
                        cursor.first_row = false;
                        chunk.push_str(&issue_json(issue).to_string());
                    }
                }
            }
            if cursor.done && format == FileFormat::Json {
                chunk.push_str("]}");
            }
            Some((Ok(chunk.into_bytes()), cursor))
        }
    });
    Body::from_bytes_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_safe("shop.example"), "shop.example");
        assert_eq!(file_safe("My \"Shop\"/../x"), "My--Shop--..-x");
    }

    #[test]
    fn every_breakdown_is_a_valid_stats_query() {
        for (name, dimension, metrics) in BREAKDOWNS {
            let body = json!({"site_id": "x", "metrics": metrics, "dimensions": [dimension],
                              "date_range": "30d"});
            assert!(tenant::stats::request::parse(&body).is_ok(), "{name}");
        }
    }
}
