//! Organization data exports: an owner asks for everything Beacon stores for the organization;
//! the export job writes an archive and e-mails a download link that works for seven days
//! (`worker::jobs::export_organization`). The link's token names the organization and the export
//! (`<org>.<export>.<secret>`), so the download opens that organization's scope only.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem::{Body, Request};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::org_exports::{self, Export};
use tenant::{Actor, DbError, OrgId};
use uuid::Uuid;
use worker::Job;
use worker::jobs::ExportOrganization;
use worker::jobs::export_organization::archive_path;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::pagination::Page;
use crate::scope::{OrgScope, Owner, request_context};
use crate::state::AppState;

/// An export of the organization's data.
#[derive(Debug, Object)]
pub struct ExportOut {
    /// Id.
    pub id: Uuid,
    /// `pending`, `ready` (the link was e-mailed to the owner who asked) or `failed`.
    pub status: String,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Written (or failed) at.
    pub finished_at: Option<DateTime<Utc>>,
    /// The e-mailed link works until then.
    pub expires_at: Option<DateTime<Utc>>,
    /// The archive's size in bytes.
    pub size_bytes: Option<i64>,
}

fn export_out(export: Export) -> ExportOut {
    ExportOut {
        id: export.export_id,
        status: export.status,
        created_at: export.created_at,
        finished_at: export.finished_at,
        expires_at: export.expires_at,
        size_bytes: export.size_bytes,
    }
}

/// An export request's answer.
#[derive(ApiResponse)]
pub enum ExportRequested {
    /// The export is being written; its link will be e-mailed to you.
    #[oai(status = 202)]
    Accepted(Json<ExportOut>),
}

/// A download.
#[derive(ApiResponse)]
pub enum ArchiveResponse {
    /// The archive (`.tar.gz`).
    #[oai(status = 200, content_type = "application/gzip")]
    Archive(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

/// Most exports listed.
const LISTED: i64 = 50;

/// Export operations.
#[derive(Default)]
pub struct ExportsApi;

#[OpenApi(tag = "ApiTags::Organizations")]
impl ExportsApi {
    /// Ask for a full export of the organization's data (owners): an archive with a JSON Lines
    /// file per table, the members, and the hourly rollups as CSV. Its download link is
    /// e-mailed to you and works for seven days. One export at a time.
    #[oai(
        path = "/api/v1/orgs/:org_id/exports",
        method = "post",
        operation_id = "create_export"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<ExportRequested> {
        let org = scope.org();
        let user = scope.caller.user()?;
        let export = scope
            .run(async |conn| {
                tenant::tables::organizations::lock(conn, org).await?;
                if org_exports::list(conn, org, LISTED)
                    .await?
                    .iter()
                    .any(|e| e.status == "pending")
                {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        "an export is already being written; its link will be e-mailed",
                    ));
                }
                let export = org_exports::create(conn, org, user).await?;
                worker::queue::enqueue(
                    conn,
                    &Job::ExportOrganization(ExportOrganization {
                        org_id: org.uuid(),
                        export_id: export.export_id,
                    }),
                )
                .await?;
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::OrganizationExportRequested, export.export_id),
                )
                .await?;
                Ok(export)
            })
            .await?;
        Ok(ExportRequested::Accepted(Json(export_out(export))))
    }

    /// The organization's latest exports, newest first (owners).
    #[oai(
        path = "/api/v1/orgs/:org_id/exports",
        method = "get",
        operation_id = "list_exports"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<Page<ExportOut>>> {
        let org = scope.org();
        let exports = scope
            .run(async |conn| Ok::<_, DbError>(org_exports::list(conn, org, LISTED).await?))
            .await?;
        Ok(Json(Page {
            items: exports.into_iter().map(export_out).collect(),
            next_cursor: None,
        }))
    }

    /// Download an export with the token of its e-mailed link (no sign-in: the link is the
    /// credential, for seven days). The download is recorded in the audit log.
    #[oai(
        path = "/api/v1/exports/download",
        method = "get",
        operation_id = "download_export"
    )]
    async fn download(
        &self,
        state: Data<&AppState>,
        req: &Request,
        token: Query<String>,
    ) -> ApiResult<ArchiveResponse> {
        let invalid = || ApiError::not_found("export");
        let mut parts = token.splitn(3, '.');
        let (Some(org), Some(export_id), Some(secret)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let org = OrgId::from_uuid(Uuid::try_parse(org).map_err(|_| invalid())?);
        let export_id = Uuid::try_parse(export_id).map_err(|_| invalid())?;
        let secret = secret.to_owned();
        let now = state.clock.now();
        let context = request_context(req, &state);
        let export = state
            .db
            .scoped_as_for(org, &Actor::System("export_link"), &context, async |conn| {
                let Some(export) =
                    org_exports::by_secret(conn, org, export_id, &secret, now).await?
                else {
                    return Ok(None);
                };
                let changes =
                    Changes::default().set("size_bytes", json!(null), json!(export.size_bytes));
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::OrganizationExportDownloaded, export_id).with(changes),
                )
                .await?;
                Ok::<_, DbError>(Some(export))
            })
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    poem::http::StatusCode::NOT_FOUND,
                    ProblemKind::TokenInvalid,
                    "this download link is not valid or has expired; ask for a new export",
                )
            })?;
        let path = archive_path(&state.exports_dir, org, export.export_id);
        let file = tokio::fs::File::open(&path).await.map_err(|_| {
            ApiError::new(
                poem::http::StatusCode::GONE,
                ProblemKind::TokenExpired,
                "this export's archive is no longer kept; ask for a new export",
            )
        })?;
        Ok(ArchiveResponse::Archive(
            Binary(Body::from_async_read(file)),
            format!(
                "attachment; filename=\"beacon-export-{}.tar.gz\"",
                export.created_at.format("%Y-%m-%d")
            ),
        ))
    }
}
