//! Instance operation: the job queue, for the operators named in `BEACON_ADMIN_EMAILS`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenant::DbError;
use tenant::tables::users;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::pagination::{Page, fetch_size};
use crate::state::AppState;

/// A background job.
#[derive(Debug, Object)]
pub struct JobOut {
    /// Id (ULID; sorts by time).
    pub id: String,
    /// Job kind, e.g. `send_verification_email`.
    pub kind: String,
    /// Pending, Queued, Running, Done, Failed or Killed.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// When it is (or was) due.
    pub run_at: DateTime<Utc>,
    /// When it finished.
    pub done_at: Option<DateTime<Utc>>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
}

/// Operator endpoints.
#[derive(Default)]
pub struct AdminApi;

#[OpenApi(prefix_path = "/api/v1/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// Recent background jobs with state, attempts and last error (instance operators).
    #[oai(path = "/jobs", method = "get", operation_id = "list_jobs")]
    async fn list_jobs(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        cursor: Query<Option<String>>,
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<Page<JobOut>>> {
        let user_id = auth.user()?.uuid();
        let admins = state.admin_emails.clone();
        let rows = state
            .db
            .unscoped(async |conn| {
                let user = users::find(conn, user_id).await?;
                if !user.is_some_and(|user| admins.contains(&user.email)) {
                    return Err(ApiError::forbidden(
                        "only instance operators (BEACON_ADMIN_EMAILS) can see jobs",
                    ));
                }
                Ok(worker::queue::recent(
                    conn,
                    cursor.as_deref().filter(|cursor| !cursor.is_empty()),
                    fetch_size(*limit),
                )
                .await
                .map_err(DbError::from)?)
            })
            .await?;
        Ok(Json(Page::of(
            rows,
            *limit,
            |job| job.id.clone(),
            |job| JobOut {
                id: job.id,
                kind: job.kind,
                status: job.status,
                attempts: job.attempts,
                max_attempts: job.max_attempts,
                run_at: job.run_at,
                done_at: job.done_at,
                last_error: job.last_error,
            },
        )))
    }
}
