//! Release files: a build's minified JavaScript and its source maps, uploaded so error frames
//! can be mapped to the original code. Names follow Sentry's convention: `~/static/app.min.js`
//! matches that path on any host; a full URL matches only that URL.
//!
//! ```sh
//! curl -X PUT -H "Authorization: Bearer $BEACON_API_KEY" \
//!   -H "Content-Type: application/octet-stream" --data-binary @dist/app.min.js.map \
//!   "$BEACON/api/v1/orgs/$ORG/projects/$PROJECT/releases/1.4.0/files?name=~/static/app.min.js.map"
//! ```

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{Object, OpenApi};
use serde_json::json;
use tenant::DbError;
use tenant::ProjectId;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::release_files;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::scope::{Member, ProjectScope, Viewer};

/// Largest release file (a source map of a large bundle).
pub const MAX_RELEASE_FILE_BYTES: usize = 20 * 1024 * 1024;

/// A stored release file.
#[derive(Debug, Object)]
pub struct ReleaseFileOut {
    /// Name frames are matched with.
    pub name: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Upload time.
    pub created_at: DateTime<Utc>,
}

fn check_release(release: &str) -> ApiResult<()> {
    if release.is_empty() || release.chars().count() > 200 || release.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            ProblemKind::InvalidValue,
            "a release name has 1 to 200 printable characters",
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> ApiResult<()> {
    let shaped = name.starts_with("~/")
        || name.starts_with("http://")
        || name.starts_with("https://")
        || name.starts_with('/');
    if !shaped || name.chars().count() > 500 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            ProblemKind::InvalidValue,
            "a file name is `~/path` (any host), a full URL, or an absolute path, up to 500 characters",
        ));
    }
    Ok(())
}

/// Release file operations.
#[derive(Default)]
pub struct ReleasesApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Errors")]
impl ReleasesApi {
    /// Upload a file of a release (members; body up to 20 MB, `application/octet-stream`).
    #[oai(
        path = "/:org_id/projects/:project_id/releases/:release/files",
        method = "put",
        operation_id = "put_release_file"
    )]
    #[allow(clippy::too_many_arguments)] // one per path and query parameter
    async fn put(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        release: Path<String>,
        name: Query<String>,
        body: Binary<Vec<u8>>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<ReleaseFileOut>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        check_release(&release)?;
        check_name(&name)?;
        if body.is_empty() {
            return Err(ApiError::invalid(
                ProblemKind::InvalidValue,
                "the file is empty",
            ));
        }
        let file = scope
            .run(async |conn| {
                let find = async |conn: &mut _| {
                    Ok::<_, DbError>(
                        release_files::list(conn, org_id, project_id, &release)
                            .await?
                            .into_iter()
                            .find(|f| f.name == *name),
                    )
                };
                let before = find(&mut *conn).await?;
                release_files::put(conn, org_id, project_id, &release, &name, &body).await?;
                let after = find(&mut *conn).await?;
                let changes = Changes::default().set(
                    "sha256",
                    json!(before.map(|f| f.sha256)),
                    json!(after.as_ref().map(|f| &f.sha256)),
                );
                let entry = Entry::new(
                    Action::ReleaseFileUploaded,
                    release_file_target(project_id, &release, &name),
                )
                .with(changes);
                audit::record(conn, org_id, entry).await?;
                Ok::<_, DbError>(after)
            })
            .await?
            .ok_or_else(|| ApiError::internal("the stored file was not found"))?;
        Ok(Created::Created(Json(ReleaseFileOut {
            name: file.name,
            sha256: file.sha256,
            created_at: file.created_at,
        })))
    }

    /// Files of a release.
    #[oai(
        path = "/:org_id/projects/:project_id/releases/:release/files",
        method = "get",
        operation_id = "list_release_files"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        release: Path<String>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<ReleaseFileOut>>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let files = scope
            .run(async |conn| {
                Ok::<_, DbError>(release_files::list(conn, org_id, project_id, &release).await?)
            })
            .await?;
        Ok(Json(
            files
                .into_iter()
                .map(|f| ReleaseFileOut {
                    name: f.name,
                    sha256: f.sha256,
                    created_at: f.created_at,
                })
                .collect(),
        ))
    }

    /// Delete a file of a release (members).
    #[oai(
        path = "/:org_id/projects/:project_id/releases/:release/files",
        method = "delete",
        operation_id = "delete_release_file"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        release: Path<String>,
        name: Query<String>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let deleted = scope
            .run(async |conn| {
                let deleted =
                    release_files::delete(conn, org_id, project_id, &release, &name).await?;
                if deleted {
                    let entry = Entry::new(
                        Action::ReleaseFileDeleted,
                        release_file_target(project_id, &release, &name),
                    );
                    audit::record(conn, org_id, entry).await?;
                }
                Ok::<_, DbError>(deleted)
            })
            .await?;
        if !deleted {
            return Err(ApiError::not_found("release file"));
        }
        Ok(NoContent::NoContent)
    }
}

/// A release file's id in audit records: `<project>/<release>/<name>`.
fn release_file_target(project: ProjectId, release: &str, name: &str) -> String {
    format!("{project}/{release}/{name}")
}
