//! Heatmaps. From sites' pages (any origin, no credentials): `POST /api/heatmap`, one
//! pageview's clicks and deepest scroll from `/js/replay.js`, added to the day's totals. For
//! members: the pages with heatmap data, and one page's heatmap on a width class — clicks per
//! element and cell, the most clicked elements, rage clicks, scroll-depth bands, and a
//! recording of the page to draw them over.
//!
//! Like pageviews, a report carries no visitor id, no IP and no cookie; bots are dropped by
//! user agent.

use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::Value;
use tenant::ingest::enrich::Agent;
use tenant::problem::ProblemKind;
use tenant::replay::heatmap::{self, WidthClass};
use tenant::tables::heatmaps;
use tenant::tables::usage::Product;
use tenant::{DbError, OrgId, ProjectId};
use uuid::Uuid;

use crate::auth::client_ip::client_ip;
use crate::auth::throttle::HEATMAP_REPORTS_PER_IP;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::site_json::SiteJson;
use crate::scope::{ProjectScope, Viewer};
use crate::state::AppState;

/// The report path (open to any origin).
pub const REPORT_PATH: &str = "/api/heatmap";
/// Most (element, cell) pairs a heatmap answers.
const MAX_CELLS: i64 = 2_000;

/// What happened to a report.
#[derive(Debug, Object)]
pub struct HeatmapReceipt {
    /// Clicks added (0 for a bot's report, which is dropped).
    pub clicks: u32,
    /// Whether the report was stored (false: a bot's).
    pub stored: bool,
}

#[derive(ApiResponse)]
enum ReportResponse {
    /// Added to the day's totals (committed), or dropped as a bot's.
    #[oai(status = 202)]
    Accepted(Json<HeatmapReceipt>),
}

/// A viewport width class.
#[derive(Debug, Clone, Copy, Enum, Default, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum WidthClassDto {
    /// 1024 px and wider (default).
    #[default]
    Desktop,
    /// 768 to 1023 px.
    Tablet,
    /// Narrower than 768 px.
    Phone,
}

impl From<WidthClassDto> for WidthClass {
    fn from(dto: WidthClassDto) -> Self {
        match dto {
            WidthClassDto::Desktop => Self::Desktop,
            WidthClassDto::Tablet => Self::Tablet,
            WidthClassDto::Phone => Self::Phone,
        }
    }
}

/// A page with heatmap data.
#[derive(Debug, Object)]
pub struct HeatmapPageOut {
    /// Its path.
    pub page: String,
    /// Clicks on it.
    pub clicks: i64,
    /// Pageviews reported (each reports its deepest scroll).
    pub pageviews: i64,
}

/// Clicks in one cell of an element.
#[derive(Debug, Object)]
pub struct HeatmapCellOut {
    /// The element's CSS selector path.
    pub selector: String,
    /// The cell's centre across the element, 0 to 1.
    pub x: f64,
    /// The cell's centre down the element, 0 to 1.
    pub y: f64,
    /// Clicks.
    pub clicks: i64,
}

/// An element and its clicks.
#[derive(Debug, Object)]
pub struct HeatmapElementOut {
    /// Its CSS selector path.
    pub selector: String,
    /// Clicks.
    pub clicks: i64,
    /// Rage clicks (at least the third click on it within a second).
    pub rage_clicks: i64,
}

/// How many pageviews reached a depth.
#[derive(Debug, Object)]
pub struct ScrollBandOut {
    /// The depth, in percent of the page (10, 20, … 100).
    pub depth: i32,
    /// Pageviews that reached it.
    pub reached: i64,
    /// Their share of the pageviews, 0 to 100.
    pub share: f64,
}

/// A recording to draw the heatmap over.
#[derive(Debug, Object)]
pub struct HeatmapSnapshotOut {
    /// The recording (its chunk 0 holds the page's full snapshot).
    pub replay_id: Uuid,
    /// When it started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// How long it lasted, in seconds.
    pub duration_s: i64,
    /// Clicks in it.
    pub clicks: i32,
}

/// One page's heatmap on one width class over a range of days.
#[derive(Debug, Object)]
pub struct HeatmapOut {
    /// The page's path.
    pub page: String,
    /// The width class.
    pub device: WidthClassDto,
    /// First day (UTC days).
    pub from: String,
    /// Last day.
    pub to: String,
    /// Pageviews reported.
    pub pageviews: i64,
    /// Clicks.
    pub clicks: i64,
    /// Rage clicks.
    pub rage_clicks: i64,
    /// Clicks per element and cell of its 10×10 grid.
    pub cells: Vec<HeatmapCellOut>,
    /// The 20 most clicked elements.
    pub elements: Vec<HeatmapElementOut>,
    /// The share of pageviews that reached each tenth of the page.
    pub scroll: Vec<ScrollBandOut>,
    /// A recording of the page on this width class, if there is one.
    pub snapshot: Option<HeatmapSnapshotOut>,
}

fn share(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// The device class a recording of `class` has (recordings name phones `mobile`, from the user
/// agent; heatmaps go by viewport width).
fn replay_device(class: WidthClass) -> &'static str {
    match class {
        WidthClass::Desktop => "desktop",
        WidthClass::Tablet => "tablet",
        WidthClass::Phone => "mobile",
    }
}

/// Heatmap operations.
#[derive(Default)]
pub struct HeatmapsApi;

#[OpenApi(tag = "ApiTags::Replays")]
impl HeatmapsApi {
    /// One pageview's clicks and deepest scroll, from `/js/replay.js` on projects with heatmaps
    /// on. Added to the day's totals; answered once committed. Open to any origin.
    ///
    /// The body: `{"d": domain, "p": path, "w": "desktop" | "tablet" | "phone", "c":
    /// [[selector, x, y, rage]], "s": deepest scroll}`, as JSON or the same JSON as text.
    #[oai(path = "/api/heatmap", method = "post", operation_id = "send_heatmap")]
    async fn report(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: SiteJson,
    ) -> ApiResult<ReportResponse> {
        let value = body.into_value()?;
        let domain = value
            .get("d")
            .and_then(Value::as_str)
            .and_then(tenant::hostname::normalize)
            .ok_or_else(|| {
                ApiError::bad_request(
                    ProblemKind::InvalidDomain,
                    "`d` must be the site's host name, such as example.com",
                )
            })?;
        let report = heatmap::parse(&value).map_err(ApiError::from)?;
        let user_agent = req
            .headers()
            .get(poem::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Agent::Bot = state.ingest.agents.classify(user_agent) {
            return Ok(ReportResponse::Accepted(Json(HeatmapReceipt {
                clicks: 0,
                stored: false,
            })));
        }
        let unknown = || {
            ApiError::bad_request(
                ProblemKind::UnknownDomain,
                "no project collects for this domain",
            )
        };
        let target = state
            .ingest
            .router
            .route(&domain)
            .await?
            .ok_or_else(unknown)?;
        let settings = state
            .ingest
            .router
            .replay_settings(target.project_id)
            .await?
            .ok_or_else(unknown)?;
        if !settings.heatmaps_enabled {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ProblemKind::HeatmapsDisabled,
                "heatmaps are off for this project",
            ));
        }
        let (org, project) = (
            OrgId::from_uuid(target.org_id),
            ProjectId::from_uuid(target.project_id),
        );
        let now = state.clock.now();
        // A report belongs to a pageview: over the plan's events, heatmaps stop with them.
        if !state.ingest.quotas.admits(org, Product::Events) {
            return Err(ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                ProblemKind::QuotaExceeded,
                "the organization's events for this month are used up",
            ));
        }
        // One client cannot flood a project's heatmaps (the key lives in memory only).
        let ip = client_ip(req, &state.trusted_proxies)
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let key = format!("{}:{ip}", target.project_id);
        if let Err(wait) = state.throttle.reserve(&HEATMAP_REPORTS_PER_IP, &key) {
            return Err(ApiError {
                detail: "too many heatmap reports from this client: retry later".into(),
                ..ApiError::too_many_requests(wait)
            });
        }
        state
            .db
            .scoped(org, async |conn| {
                Ok::<_, DbError>(heatmaps::record(conn, org, project, now, &report).await?)
            })
            .await?;
        Ok(ReportResponse::Accepted(Json(HeatmapReceipt {
            clicks: report.clicks.len() as u32,
            stored: true,
        })))
    }

    /// The pages with heatmap data over a `period` (the Stats API's `date_range` names,
    /// default `30d`; UTC days), optionally on one width class, most clicked first (50).
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/heatmap/pages",
        method = "get",
        operation_id = "list_heatmap_pages"
    )]
    async fn pages(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        device: Query<Option<WidthClassDto>>,
        #[oai(validator(max_length = 40))] period: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<HeatmapPageOut>>> {
        let (org, project) = (scope.org(), scope.project_id());
        let range = tenant::stats::request::parse_period(period.as_deref())?;
        let timezone = scope.project.timezone.clone();
        let first_day = scope.project.created_at.date_naive();
        let device = device.map(|d| WidthClass::from(d).as_str());
        let rows = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &timezone, state.clock.now()).await?;
                let days = range.resolve(today, first_day);
                Ok::<_, ApiError>(heatmaps::pages(conn, org, project, device, days, 50).await?)
            })
            .await?;
        Ok(Json(
            rows.into_iter()
                .map(|row| HeatmapPageOut {
                    page: row.page,
                    clicks: row.clicks,
                    pageviews: row.pageviews,
                })
                .collect(),
        ))
    }

    /// One page's heatmap on a width class over a `period` (default `30d`; UTC days): clicks
    /// per element and cell, the most clicked elements, rage clicks, the share of pageviews
    /// reaching each tenth of the page, and a recording of the page to draw them over.
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/heatmap",
        method = "get",
        operation_id = "get_heatmap"
    )]
    #[allow(clippy::too_many_arguments)] // one per path and query parameter
    async fn heatmap(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        /// The page's path.
        #[oai(validator(min_length = 1, max_length = 500))]
        page: Query<String>,
        device: Query<Option<WidthClassDto>>,
        #[oai(validator(max_length = 40))] period: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<HeatmapOut>> {
        let (org, project) = (scope.org(), scope.project_id());
        let range = tenant::stats::request::parse_period(period.as_deref())?;
        let timezone = scope.project.timezone.clone();
        let first_day = scope.project.created_at.date_naive();
        let dto = device.unwrap_or_default();
        let class = WidthClass::from(dto);
        let (days, cells, elements, scroll, snapshot) = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &timezone, state.clock.now()).await?;
                let days = range.resolve(today, first_day);
                let cells =
                    heatmaps::cells(conn, org, project, &page, class.as_str(), days, MAX_CELLS)
                        .await?;
                let elements =
                    heatmaps::elements(conn, org, project, &page, class.as_str(), days, 20).await?;
                let scroll =
                    heatmaps::scroll(conn, org, project, &page, class.as_str(), days).await?;
                let snapshot =
                    heatmaps::snapshot(conn, org, project, &page, replay_device(class)).await?;
                Ok::<_, ApiError>((days, cells, elements, scroll, snapshot))
            })
            .await?;
        let (clicks, rage_clicks) = <[heatmaps::ElementClicks]>::first(&elements)
            .map_or((0, 0), |first| {
                (first.total_clicks, first.total_rage_clicks)
            });
        let elements = elements
            .into_iter()
            .map(|element| HeatmapElementOut {
                selector: element.selector,
                clicks: element.clicks,
                rage_clicks: element.rage_clicks,
            })
            .collect();
        Ok(Json(HeatmapOut {
            page: page.0,
            device: dto,
            from: days.0.to_string(),
            to: days.1.to_string(),
            pageviews: scroll.pageviews,
            clicks,
            rage_clicks,
            cells: cells
                .into_iter()
                .map(|cell| {
                    let (x, y) = heatmap::cell_centre(cell.cell);
                    HeatmapCellOut {
                        selector: cell.selector,
                        x,
                        y,
                        clicks: cell.clicks,
                    }
                })
                .collect(),
            elements,
            scroll: scroll
                .reached
                .iter()
                .enumerate()
                .map(|(i, reached)| ScrollBandOut {
                    depth: (i as i32 + 1) * 10,
                    reached: *reached,
                    share: share(*reached, scroll.pageviews),
                })
                .collect(),
            snapshot: snapshot.map(|found| HeatmapSnapshotOut {
                replay_id: found.replay_id,
                started_at: found.started_at,
                duration_s: found.duration_s,
                clicks: found.clicks,
            }),
        }))
    }
}
