//! Core Web Vitals: `POST /api/vitals` takes what the tracker's extension (`/js/vitals.js`,
//! Google's web-vitals) measured on a pageview; `GET …/projects/{id}/vitals` answers p50, p75
//! and p95 with the share of good / needs-improvement / poor samples, by page, device, country
//! or day.
//!
//! Samples carry no visitor id: a vital describes a page load, not a person. The client IP is
//! used for the country and dropped, as for events; bots are dropped by user agent.

use std::net::{IpAddr, Ipv4Addr};
use tenant::OrgId;
use tenant::problem::ProblemKind;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::Value;
use tenant::DbError;
use tenant::tables::web_vitals::{self, VitalsGroup};
use uuid::Uuid;

use tenant::ingest::enrich::Agent;
use tenant::ingest::vitals::{self, Vital};

use crate::auth::client_ip::client_ip;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::site_json::SiteJson;
use crate::scope::{ProjectScope, Viewer};
use crate::state::AppState;

/// Samples in one request, at most.
const MAX_SAMPLES: usize = 10;

/// A metric, with Google's thresholds: good up to the first, poor above the second.
#[derive(Debug, Clone, Copy, Enum, PartialEq, Eq)]
pub enum VitalMetric {
    /// Largest Contentful Paint (ms): 2500 / 4000.
    #[oai(rename = "LCP")]
    Lcp,
    /// Interaction to Next Paint (ms): 200 / 500.
    #[oai(rename = "INP")]
    Inp,
    /// Cumulative Layout Shift (unitless): 0.1 / 0.25.
    #[oai(rename = "CLS")]
    Cls,
    /// First Contentful Paint (ms): 1800 / 3000.
    #[oai(rename = "FCP")]
    Fcp,
    /// Time to First Byte (ms): 800 / 1800.
    #[oai(rename = "TTFB")]
    Ttfb,
}

impl From<VitalMetric> for Vital {
    fn from(metric: VitalMetric) -> Self {
        match metric {
            VitalMetric::Lcp => Vital::Lcp,
            VitalMetric::Inp => Vital::Inp,
            VitalMetric::Cls => Vital::Cls,
            VitalMetric::Fcp => Vital::Fcp,
            VitalMetric::Ttfb => Vital::Ttfb,
        }
    }
}

/// How a summary is grouped.
#[derive(Debug, Clone, Copy, Enum, Default)]
#[oai(rename_all = "snake_case")]
pub enum VitalsGroupDto {
    /// By page path (default).
    #[default]
    Page,
    /// By device class.
    Device,
    /// By country.
    Country,
    /// By day, for a chart over time.
    Day,
}

/// What happened to a request's samples.
#[derive(Debug, Object)]
pub struct VitalsReport {
    /// Samples stored.
    pub accepted: u32,
    /// Samples dropped on purpose (bots).
    pub dropped: u32,
}

#[derive(ApiResponse)]
enum VitalsResponse {
    /// Stored (committed), or dropped as a bot.
    #[oai(status = 202)]
    Accepted(Json<VitalsReport>),
}

/// One group of a summary.
#[derive(Debug, Object)]
pub struct VitalsRowOut {
    /// Page, device, country or day (`null`: unknown).
    pub key: Option<String>,
    /// Samples.
    pub samples: i64,
    /// Median.
    pub p50: f64,
    /// 75th percentile: what Google assesses.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Rating of the p75 by Google's thresholds.
    pub rating: String,
    /// Share of samples rated good (0–100).
    pub good: f64,
    /// Share rated needs improvement (0–100).
    pub needs_improvement: f64,
    /// Share rated poor (0–100).
    pub poor: f64,
}

/// A summary of one metric.
#[derive(Debug, Object)]
pub struct VitalsSummary {
    /// The metric.
    pub metric: VitalMetric,
    /// First day (project time zone).
    pub from: String,
    /// Last day.
    pub to: String,
    /// Google's good threshold.
    pub good_up_to: f64,
    /// Google's poor threshold (poor above it).
    pub poor_above: f64,
    /// All samples of the range together.
    pub total: Option<VitalsRowOut>,
    /// Groups.
    pub rows: Vec<VitalsRowOut>,
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request(ProblemKind::InvalidVitals, detail)
}

fn row_out(metric: VitalMetric, row: web_vitals::VitalsRow) -> VitalsRowOut {
    let share = |n: i64| {
        if row.samples == 0 {
            0.0
        } else {
            (n as f64 * 1000.0 / row.samples as f64).round() / 10.0
        }
    };
    VitalsRowOut {
        rating: Vital::from(metric).rate(row.p75).to_owned(),
        good: share(row.good),
        needs_improvement: share(row.needs_improvement),
        poor: share(row.poor),
        key: row.key,
        samples: row.samples,
        p50: row.p50,
        p75: row.p75,
        p95: row.p95,
    }
}

/// Web Vitals operations.
#[derive(Default)]
pub struct VitalsApi;

#[OpenApi(tag = "ApiTags::Ingestion")]
impl VitalsApi {
    /// Record Core Web Vitals of a pageview (from `/js/vitals.js`). Values are rated by
    /// Google's thresholds on the server.
    ///
    /// The body: `{"d": domain, "u": page URL, "m": [{"n": "LCP", "v": 1234.5, "t":
    /// "navigate", "a": {attribution}}]}`, as JSON or the same JSON as text.
    #[oai(path = "/api/vitals", method = "post", operation_id = "send_vitals")]
    async fn send(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: SiteJson,
    ) -> ApiResult<VitalsResponse> {
        let value = body.into_value()?;
        let domain = value
            .get("d")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("`d` (the site's domain) is required"))?;
        let domain = tenant::hostname::normalize(domain).ok_or_else(|| {
            ApiError::bad_request(
                ProblemKind::InvalidDomain,
                "`d` must be a host name such as example.com (at most 253 bytes)",
            )
        })?;
        let url = value
            .get("u")
            .and_then(Value::as_str)
            .and_then(|u| url::Url::parse(u).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| bad("`u` must be the page's http(s) URL"))?;
        let samples = value
            .get("m")
            .and_then(Value::as_array)
            .filter(|m| !m.is_empty() && m.len() <= MAX_SAMPLES)
            .ok_or_else(|| bad(format!("`m` must list 1 to {MAX_SAMPLES} metrics")))?;
        let user_agent = req
            .headers()
            .get(poem::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Agent::Human(device) = state.ingest.agents.classify(user_agent) else {
            return Ok(VitalsResponse::Accepted(Json(VitalsReport {
                accepted: 0,
                dropped: samples.len() as u32,
            })));
        };
        let target = state.ingest.router.route(&domain).await?.ok_or_else(|| {
            ApiError::bad_request(
                ProblemKind::UnknownDomain,
                "no project collects for this domain",
            )
        })?;
        let ip =
            client_ip(req, &state.trusted_proxies).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let country = state.ingest.geo.locate(ip).country;
        let now = state.clock.now();
        let mut rows = Vec::with_capacity(samples.len());
        for sample in samples {
            rows.push(
                vitals::sample_row(sample, &target, url.path(), &device, country.clone(), now)
                    .map_err(ApiError::from)?,
            );
        }
        let org = OrgId::from_uuid(target.org_id);
        let accepted = state
            .db
            .scoped(org, async |conn| {
                Ok::<_, DbError>(web_vitals::insert(conn, &rows).await?)
            })
            .await?;
        Ok(VitalsResponse::Accepted(Json(VitalsReport {
            accepted: accepted as u32,
            dropped: 0,
        })))
    }

    /// p50 / p75 / p95 of a metric and its share of good, needs-improvement and poor samples,
    /// by page (default), device, country or day, over a `period` (as the Stats API's
    /// `date_range` names, default `30d`).
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/vitals",
        method = "get",
        operation_id = "get_vitals",
        tag = "ApiTags::Stats"
    )]
    #[allow(clippy::too_many_arguments)] // one per path and query parameter
    async fn summary(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        metric: Query<VitalMetric>,
        group: Query<Option<VitalsGroupDto>>,
        period: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<VitalsSummary>> {
        let project_id = scope.project_id();
        let project = scope.project.clone();
        let range = tenant::stats::request::parse_period(period.as_deref())?;
        let group = match group.unwrap_or_default() {
            VitalsGroupDto::Page => VitalsGroup::Page,
            VitalsGroupDto::Device => VitalsGroup::Device,
            VitalsGroupDto::Country => VitalsGroup::Country,
            VitalsGroupDto::Day => VitalsGroup::Day,
        };
        let metric_value = *metric;
        let vital = Vital::from(metric_value);
        let timezone = project.timezone.clone();
        let first_day = project.created_at.date_naive();
        let (from, to, rows, total) = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &timezone, state.clock.now()).await?;
                let (from, to) = range.resolve(today, first_day);
                let rows = web_vitals::summary(
                    conn,
                    project_id,
                    &timezone,
                    vital.name(),
                    from,
                    to,
                    group,
                    100,
                )
                .await?;
                let total = web_vitals::summary(
                    conn,
                    project_id,
                    &timezone,
                    vital.name(),
                    from,
                    to,
                    VitalsGroup::All,
                    1,
                )
                .await?
                .pop();
                Ok::<_, DbError>((from, to, rows, total))
            })
            .await?;
        let (good_up_to, poor_above) = vital.thresholds();
        Ok(Json(VitalsSummary {
            metric: metric_value,
            from: from.to_string(),
            to: to.to_string(),
            good_up_to,
            poor_above,
            total: total
                .filter(|t| t.samples > 0)
                .map(|t| row_out(metric_value, t)),
            rows: rows
                .into_iter()
                .map(|row| row_out(metric_value, row))
                .collect(),
        }))
    }
}
