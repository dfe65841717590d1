//! Realtime: who is on the site right now, and a server-sent-events stream of new events
//! for live dashboards.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::{Object, OpenApi};
use tenant::DbError;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::scope::{ProjectScope, Viewer};
use crate::state::AppState;

/// A page and how many current visitors are on it.
#[derive(Debug, Object)]
pub struct CurrentPageOut {
    /// Path.
    pub page: String,
    /// Visitors whose latest event was on it.
    pub visitors: i64,
}

/// The last five minutes.
#[derive(Debug, Object)]
pub struct RealtimeOut {
    /// Distinct visitors in the last five minutes.
    pub visitors: i64,
    /// Up to 10 pages they are on, most visited first.
    pub pages: Vec<CurrentPageOut>,
    /// The window, in minutes.
    pub window_minutes: i32,
}

/// An event as the live stream shows it (no visitor id).
#[derive(Debug, Clone, Object)]
pub struct LiveEventOut {
    /// When it happened.
    pub ts: chrono::DateTime<chrono::Utc>,
    /// `pageview` or a custom name.
    pub name: String,
    /// Page path.
    pub page: String,
    /// Traffic source, if any.
    pub source: Option<String>,
    /// Country, if known.
    pub country: Option<String>,
    /// Device class.
    pub device: Option<String>,
}

/// Realtime operations.
#[derive(Default)]
pub struct RealtimeApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl RealtimeApi {
    /// Visitors in the last five minutes and the pages they are on.
    #[oai(
        path = "/:org_id/projects/:project_id/realtime",
        method = "get",
        operation_id = "get_realtime"
    )]
    async fn realtime(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<RealtimeOut>> {
        let (visitors, pages) = scope
            .run(async |conn| {
                Ok::<_, DbError>(
                    tenant::stats::realtime(conn, *project_id, 10, state.clock.now()).await?,
                )
            })
            .await?;
        Ok(Json(RealtimeOut {
            visitors,
            pages: pages
                .into_iter()
                .map(|p| CurrentPageOut {
                    page: p.page,
                    visitors: p.visitors,
                })
                .collect(),
            window_minutes: tenant::stats::REALTIME_MINUTES,
        }))
    }

    /// New events of the project as server-sent events (`text/event-stream`), from the moment
    /// of the request on. A subscriber too slow to keep up skips events rather than holding
    /// memory; a comment line every 15 s keeps proxies from closing the stream.
    #[oai(
        path = "/:org_id/projects/:project_id/live",
        method = "get",
        operation_id = "stream_live_events"
    )]
    async fn live(
        &self,
        state: Data<&AppState>,
        org_id: Path<Uuid>,
        project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<EventStream<futures::stream::BoxStream<'static, LiveEventOut>>> {
        // The stream outlives any transaction: the scope only checks access, and is finished
        // before the first event is sent.
        scope.run(async |_| Ok::<_, ApiError>(())).await?;
        let (org, project) = (*org_id, *project_id);
        let receiver = state.ingest.writer.subscribe();
        let stream = futures::stream::unfold(receiver, move |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) if event.project_id == project && event.org_id == org => {
                        let out = LiveEventOut {
                            ts: event.ts,
                            name: event.name.clone(),
                            page: event.pathname.clone(),
                            source: event.source.clone(),
                            country: event.country.clone(),
                            device: event.device.clone(),
                        };
                        return Some((out, receiver));
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(
            EventStream::new(Box::pin(stream) as futures::stream::BoxStream<'static, LiveEventOut>)
                .keep_alive(std::time::Duration::from_secs(15)),
        )
    }
}
