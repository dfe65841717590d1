//! Health, readiness and Prometheus metrics.

use poem::Request;
use poem::web::Data;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi};
use tenant::DbError;

use crate::error::{ApiError, ApiResult};
use crate::health::Readiness;
use crate::routes::ApiTags;
use crate::state::AppState;

#[derive(ApiResponse)]
enum ReadyResponse {
    /// Ready to serve.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// Not ready; see which check failed.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

/// Operations endpoints.
#[derive(Default)]
pub struct OpsApi;

#[OpenApi(tag = "ApiTags::Operations")]
impl OpsApi {
    /// Liveness: the process answers.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }

    /// Readiness: the database answers, the schema is current, the job workers of this
    /// process take jobs and Beacon's own PostgreSQL (if any) runs. The body says which part
    /// is not ready.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> ReadyResponse {
        let current = state
            .db
            .unscoped(async |conn| tenant::migrate::is_current(conn).await)
            .await;
        let mut report = match current {
            Ok(current) => state.health.readiness(true, current),
            Err(_) => state.health.readiness(false, false),
        };
        report.missing_optional = crate::health::missing_optional(&state.ingest.geo);
        if report.is_ready() {
            ReadyResponse::Ready(Json(report))
        } else {
            ReadyResponse::NotReady(Json(report))
        }
    }

    /// Prometheus metrics: requests by route and status, latency, pool use, job and ingest
    /// queue depth. When the server has a metrics token (`BEACON_METRICS_TOKEN`), send it as
    /// `Authorization: Bearer <token>`; without it the answer is 401.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, state: Data<&AppState>, req: &Request) -> ApiResult<PlainText<String>> {
        if let Some(token) = &state.metrics_token
            && !token.admits(req)
        {
            return Err(ApiError::unauthorized(
                "send this server's metrics token as `Authorization: Bearer <token>`",
            ));
        }
        let depth = state
            .db
            .unscoped(async |conn| Ok::<_, DbError>(worker::queue::depth(conn).await?))
            .await
            .ok();
        Ok(PlainText(state.metrics.render(
            state.db.status(),
            depth,
            state.ingest.writer.queued(),
            &state.health,
        )))
    }
}
