//! Session replay. From sites' pages (open to any origin, no credentials): `GET
//! /api/replay/config`, what `/js/replay.js` asks before loading the recorder, and `POST
//! /api/replay`, one compressed chunk of rrweb events, acknowledged only once stored. For
//! members: a project's recordings, one recording's chunks for the player, the recordings an
//! error issue happened in, deletion, and the project's replay settings.
//!
//! A recording is keyed by the id the browser made and the salted visitor id (the IP and user
//! agent are used for it, the device and the country, and dropped), never a cookie.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Utc};
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::ingest::enrich::{Agent, visitor_id};
use tenant::problem::ProblemKind;
use tenant::replay::chunk;
use tenant::stats::DayRange;
use tenant::tables::funnels;
use tenant::tables::replays::{
    self, NewSession, RecordError, Recorded, ReplayFilter, ReplayRow, ReplaySettings,
    ReplaySettingsChanges, SessionLimits,
};
use tenant::tables::usage::Product;
use tenant::{OrgId, ProjectId};
use uuid::Uuid;

use crate::auth::client_ip::client_ip;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::pagination::{Page, fetch_size};
use crate::routes::responses::NoContent;
use crate::routes::text::Text;
use crate::scope::{Admin, ProjectScope, Viewer};
use crate::state::AppState;

/// Largest chunk on the wire, in bytes (the middleware refuses more before reading it).
pub const MAX_WIRE_BYTES: usize = 2 * 1024 * 1024;
/// The upload path (open to any origin).
pub const UPLOAD_PATH: &str = "/api/replay";
/// The settings path the loader reads (open to any origin).
pub const CONFIG_PATH: &str = "/api/replay/config";
/// What one recording may hold.
pub const LIMITS: SessionLimits = SessionLimits {
    max_duration_s: 60 * 60,
    max_bytes: 30 * 1024 * 1024,
    max_seq: 5_000,
};

/// What the loader needs to decide whether and how to record.
#[derive(Debug, Object)]
pub struct ReplayConfig {
    /// Whether this project records sessions.
    pub enabled: bool,
    /// Share of visitors recorded (0 to 1).
    pub sample_rate: f64,
    /// Whether all text is masked (then only `unmask_selector` shows text).
    pub mask_all_text: bool,
    /// CSS selector of elements whose text is recorded.
    pub unmask_selector: Option<String>,
    /// CSS selector of elements not recorded at all (beside `.beacon-block`).
    pub block_selector: Option<String>,
    /// Longest recording, in seconds.
    pub max_duration_s: i64,
    /// Most bytes one recording may upload (compressed).
    pub max_bytes: i64,
    /// Whether every visitor's clicks and scroll depth are collected for heatmaps (with or
    /// without recording).
    pub heatmaps: bool,
}

/// What happened to an uploaded chunk.
#[derive(Debug, Object)]
pub struct ChunkReceipt {
    /// `stored` (now), `duplicate` (stored before: a retry) or `dropped` (a bot).
    pub status: String,
    /// The chunk's number.
    pub seq: i32,
}

#[derive(ApiResponse)]
enum UploadResponse {
    /// Stored and committed (or already stored, or dropped as a bot).
    #[oai(status = 202)]
    Accepted(Json<ChunkReceipt>),
}

/// A recording in a list.
#[derive(Debug, Object)]
pub struct ReplayOut {
    /// Id.
    pub id: Uuid,
    /// First event.
    pub started_at: DateTime<Utc>,
    /// Last event.
    pub ended_at: DateTime<Utc>,
    /// Milliseconds from the first event to the last.
    pub duration_ms: i64,
    /// First page's path.
    pub entry_page: String,
    /// Pages seen, in order.
    pub pages: Vec<String>,
    /// Country (ISO 3166-1 alpha-2), when known.
    pub country: Option<String>,
    /// `desktop`, `mobile`, `tablet` or `unknown`.
    pub device: String,
    /// Browser.
    pub browser: String,
    /// Operating system.
    pub os: String,
    /// Error events in it.
    pub errors: i64,
    /// Clicks.
    pub clicks: i32,
    /// Bursts of clicks on one element.
    pub rage_clicks: i32,
    /// Clicks the page did not react to within half a second.
    pub dead_clicks: i32,
    /// Chunks stored.
    pub chunks: i32,
    /// Bytes stored (compressed).
    pub bytes: i64,
    /// Whether it can be played (its full snapshot arrived).
    pub playable: bool,
}

fn replay_out(row: ReplayRow) -> ReplayOut {
    ReplayOut {
        id: row.replay_id,
        duration_ms: (row.ended_at - row.started_at).num_milliseconds(),
        started_at: row.started_at,
        ended_at: row.ended_at,
        entry_page: row.entry_page,
        pages: row.pages,
        country: row.country,
        device: row.device,
        browser: row.browser,
        os: row.os,
        errors: row.errors,
        clicks: row.clicks,
        rage_clicks: row.rage_clicks,
        dead_clicks: row.dead_clicks,
        chunks: row.chunks,
        bytes: row.bytes,
        playable: row.has_snapshot,
    }
}

/// A chunk the player fetches.
#[derive(Debug, Object)]
pub struct ChunkOut {
    /// Its number (`…/chunks/{seq}`).
    pub seq: i32,
    /// First event.
    pub started_at: DateTime<Utc>,
    /// Last event.
    pub ended_at: DateTime<Utc>,
    /// Events in it.
    pub events: i32,
}

/// A point on the player's timeline.
#[derive(Debug, Object)]
pub struct MarkerOut {
    /// Milliseconds from the recording's start.
    pub offset_ms: i64,
    /// `page`, `click`, `custom` or `error`.
    pub kind: String,
    /// The page's path, the custom event's name or the error issue's title.
    pub label: String,
    /// The error issue, for `error`.
    pub issue_id: Option<Uuid>,
}

/// A recording with what its player needs.
#[derive(Debug, Object)]
pub struct ReplayDetail {
    /// The recording.
    pub replay: ReplayOut,
    /// Its chunks in order; fetch each from `…/chunks/{seq}`.
    pub chunks: Vec<ChunkOut>,
    /// Pages, clicks, custom events and errors, in time order.
    pub markers: Vec<MarkerOut>,
}

/// A recording an error issue happened in.
#[derive(Debug, Object)]
pub struct IssueReplayOut {
    /// The recording.
    pub replay_id: Uuid,
    /// Its first event.
    pub started_at: DateTime<Utc>,
    /// The issue's first event in it.
    pub event_id: Uuid,
    /// When that event happened.
    pub error_at: DateTime<Utc>,
    /// Where the player opens: milliseconds from the recording's start to the error.
    pub offset_ms: i64,
}

/// A project's replay settings.
#[derive(Debug, Object)]
pub struct ReplaySettingsOut {
    /// Whether visitors' sessions are recorded.
    pub enabled: bool,
    /// Share of visitors recorded (0 to 1).
    pub sample_rate: f64,
    /// Whether all text is masked.
    pub mask_all_text: bool,
    /// CSS selector of elements whose text is recorded.
    pub unmask_selector: Option<String>,
    /// CSS selector of elements not recorded at all.
    pub block_selector: Option<String>,
    /// Days recordings are kept.
    pub retention_days: i32,
    /// Whether every visitor's clicks and scroll depth are collected for heatmaps.
    pub heatmaps_enabled: bool,
}

/// Changes to the replay settings; absent fields stay as they are, an empty selector clears it.
#[derive(Debug, Object)]
pub struct ReplaySettingsIn {
    /// Record visitors' sessions.
    pub enabled: Option<bool>,
    /// Share of visitors recorded (0 to 1).
    #[oai(validator(minimum(value = "0"), maximum(value = "1")))]
    pub sample_rate: Option<f64>,
    /// Mask all text.
    pub mask_all_text: Option<bool>,
    /// CSS selector of elements whose text is recorded (at most 500 characters).
    #[oai(validator(max_length = 500))]
    pub unmask_selector: Option<Text>,
    /// CSS selector of elements not recorded at all (at most 500 characters).
    #[oai(validator(max_length = 500))]
    pub block_selector: Option<Text>,
    /// Days recordings are kept (1 to 365).
    #[oai(validator(minimum(value = "1"), maximum(value = "365")))]
    pub retention_days: Option<i32>,
    /// Collect every visitor's clicks and scroll depth for heatmaps.
    pub heatmaps_enabled: Option<bool>,
}

fn settings_out(settings: ReplaySettings) -> ReplaySettingsOut {
    ReplaySettingsOut {
        enabled: settings.enabled,
        sample_rate: f64::from(settings.sample_rate),
        mask_all_text: settings.mask_all_text,
        unmask_selector: settings.unmask_selector,
        block_selector: settings.block_selector,
        retention_days: settings.retention_days,
        heatmaps_enabled: settings.heatmaps_enabled,
    }
}

/// A selector as stored: trimmed, `None` when empty; refused when it holds characters no CSS
/// selector needs (the recorder would drop it anyway, but a clear answer is better).
fn selector(value: Option<&str>, field: &str) -> ApiResult<Option<Option<String>>> {
    let Some(value) = value else {
        return Ok(None);
    };
    let value = value.trim();
    if value
        .chars()
        .any(|c| c.is_control() || matches!(c, '{' | '}' | ';'))
    {
        return Err(ApiError::invalid(
            ProblemKind::InvalidRequest,
            format!(
                "`{field}` must be a CSS selector list (no braces, semicolons or control characters)"
            ),
        ));
    }
    Ok(Some((!value.is_empty()).then(|| value.to_owned())))
}

fn unknown_domain() -> ApiError {
    ApiError::bad_request(
        ProblemKind::UnknownDomain,
        "no project collects for this domain",
    )
}

fn domain_of(d: &str) -> ApiResult<String> {
    tenant::hostname::normalize(d).ok_or_else(|| {
        ApiError::bad_request(
            ProblemKind::InvalidDomain,
            "`d` must be a host name such as example.com (at most 253 bytes)",
        )
    })
}

/// Chunks decoded and summarized at once in this process. One takes up to 8 MiB decoded, a
/// few dozen bytes per event and tens of milliseconds of a core, so a burst of uploads waits
/// here (then gets 429, which the recorder retries) instead of exhausting memory or the
/// threads that serve every other request.
static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
/// Longest wait for a place among [`DECODING`].
const DECODE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// `wire` decoded, checked and summarized ([`chunk::parse`]) on a blocking thread, at most
/// [`DECODING`] at once.
async fn decode(wire: Vec<u8>, now: DateTime<Utc>) -> ApiResult<chunk::Chunk> {
    let _permit = tokio::time::timeout(DECODE_WAIT, DECODING.acquire())
        .await
        .map_err(|_| ApiError {
            detail: "too many recordings are being uploaded at once: retry in a few seconds".into(),
            ..ApiError::too_many_requests(2)
        })?
        .map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || chunk::parse(&wire, now))
        .await
        .map_err(ApiError::internal)?
        .map_err(|invalid| {
            if invalid.kind == ProblemKind::PayloadTooLarge {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, invalid.kind, invalid.detail)
            } else {
                ApiError::from(invalid)
            }
        })
}

fn limit_reached(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ProblemKind::ReplayLimitReached,
        format!(
            "the recording reached its {what} limit ({} minutes, {} MiB, {} chunks); start a new one",
            LIMITS.max_duration_s / 60,
            LIMITS.max_bytes / (1024 * 1024),
            LIMITS.max_seq + 1
        ),
    )
}

/// Session replay operations.
#[derive(Default)]
pub struct ReplayApi;

#[OpenApi(tag = "ApiTags::Replays")]
impl ReplayApi {
    /// What `/js/replay.js` asks before recording: whether the site's project records
    /// sessions, its sample rate and masking. Open to any origin.
    #[oai(
        path = "/api/replay/config",
        method = "get",
        operation_id = "get_replay_config"
    )]
    async fn config(
        &self,
        state: Data<&AppState>,
        /// The site's domain (the `data-domain` of the script tag).
        d: Query<String>,
    ) -> ApiResult<Json<ReplayConfig>> {
        let domain = domain_of(&d)?;
        let target = state
            .ingest
            .router
            .route(&domain)
            .await?
            .ok_or_else(unknown_domain)?;
        let settings = state
            .ingest
            .router
            .replay_settings(target.project_id)
            .await?
            .ok_or_else(unknown_domain)?;
        // An organization past its plan's session replays this month records nothing more.
        let org = OrgId::from_uuid(target.org_id);
        Ok(Json(ReplayConfig {
            enabled: settings.enabled && state.ingest.quotas.admits(org, Product::Replays),
            sample_rate: f64::from(settings.sample_rate),
            mask_all_text: settings.mask_all_text,
            unmask_selector: settings.unmask_selector,
            block_selector: settings.block_selector,
            max_duration_s: LIMITS.max_duration_s,
            max_bytes: LIMITS.max_bytes,
            heatmaps: settings.heatmaps_enabled,
        }))
    }

    /// One chunk of a recording: rrweb events as a JSON array, gzip-compressed (or plain).
    /// Answered 202 only once the chunk is stored; a chunk sent again (same `s` and `n`) is
    /// answered `duplicate` and changes nothing. Open to any origin.
    #[oai(
        path = "/api/replay",
        method = "post",
        operation_id = "upload_replay_chunk"
    )]
    async fn upload(
        &self,
        state: Data<&AppState>,
        req: &Request,
        /// The site's domain.
        d: Query<String>,
        /// The recording's id (a random UUID the recorder made).
        s: Query<Uuid>,
        /// The chunk's number, from 0.
        #[oai(validator(minimum(value = "0"), maximum(value = "100000")))]
        n: Query<i32>,
        body: Binary<Vec<u8>>,
    ) -> ApiResult<UploadResponse> {
        let seq = *n;
        let domain = domain_of(&d)?;
        let user_agent = req
            .headers()
            .get(poem::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Agent::Human(device) = state.ingest.agents.classify(user_agent) else {
            return Ok(UploadResponse::Accepted(Json(ChunkReceipt {
                status: "dropped".into(),
                seq,
            })));
        };
        let target = state
            .ingest
            .router
            .route(&domain)
            .await?
            .ok_or_else(unknown_domain)?;
        let settings = state
            .ingest
            .router
            .replay_settings(target.project_id)
            .await?
            .ok_or_else(unknown_domain)?;
        if !settings.enabled {
            return Err(ApiError::forbidden_kind(
                ProblemKind::ReplayDisabled,
                "session replay is off for this project",
            ));
        }
        let now = state.clock.now();
        let org = OrgId::from_uuid(target.org_id);
        if !state.ingest.quotas.admits(org, Product::Replays) {
            if seq == 0 {
                state
                    .ingest
                    .quotas
                    .count_dropped(org, Product::Replays, now.date_naive(), 1);
            }
            return Err(ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                ProblemKind::QuotaExceeded,
                "the organization's session replays for this month are used up",
            ));
        }
        let parsed = decode(body.0, now).await?;
        let ip =
            client_ip(req, &state.trusted_proxies).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let session = NewSession {
            org_id: OrgId::from_uuid(target.org_id),
            project_id: ProjectId::from_uuid(target.project_id),
            replay_id: *s,
            visitor_id: visitor_id(&target.salt, target.project_id, ip, user_agent),
            country: state.ingest.geo.locate(ip).country,
            device: device.device.unwrap_or_else(|| "unknown".into()),
            browser: device.browser.unwrap_or_else(|| "unknown".into()),
            os: device.os.unwrap_or_else(|| "unknown".into()),
        };
        let blobs = state.blobs.clone();
        let status = state
            .db
            .scoped(session.org_id, async |conn| {
                let recorded = replays::record_chunk(
                    conn,
                    &session,
                    seq,
                    &parsed.summary,
                    parsed.gzip.len(),
                    LIMITS,
                )
                .await
                .map_err(|error| match error {
                    RecordError::OtherProject => ApiError::conflict(
                        ProblemKind::ReplaySessionConflict,
                        "this recording belongs to another project",
                    ),
                    RecordError::LimitReached(what) => limit_reached(what),
                    RecordError::Deleted => ApiError::conflict(
                        ProblemKind::ReplayDeleted,
                        "this recording was deleted; its chunks are no longer accepted",
                    ),
                    RecordError::Db(error) => ApiError::from(tenant::DbError::Query(error)),
                })?;
                if recorded == Recorded::Stored {
                    let key = replays::blob_key(
                        session.org_id,
                        session.project_id,
                        session.replay_id,
                        seq,
                    );
                    blobs
                        .put(conn, session.org_id, session.project_id, &key, &parsed.gzip)
                        .await
                        .map_err(ApiError::internal)?;
                }
                Ok::<_, ApiError>(recorded)
            })
            .await?;
        Ok(UploadResponse::Accepted(Json(ChunkReceipt {
            status: match status {
                Recorded::Stored => "stored",
                Recorded::AlreadyStored => "duplicate",
            }
            .into(),
            seq,
        })))
    }

    /// The project's recordings, newest first, optionally only those that saw a page, had an
    /// error, came from a device class or country, lasted at least some seconds, started
    /// within the last `days`, or were made by visitors who dropped off at a funnel's step.
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/replays",
        method = "get",
        operation_id = "list_replays"
    )]
    #[allow(clippy::too_many_arguments)] // one per path and query parameter
    async fn list(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        /// Only recordings that saw this path.
        #[oai(validator(max_length = 500))]
        page: Query<Option<String>>,
        /// Only recordings with (`true`) or without (`false`) an error.
        has_error: Query<Option<bool>>,
        /// Only this device class (`desktop`, `mobile`, `tablet`).
        #[oai(validator(max_length = 20))]
        device: Query<Option<String>>,
        /// Only this country (ISO 3166-1 alpha-2).
        #[oai(validator(max_length = 2))]
        country: Query<Option<String>>,
        /// Only recordings at least this many seconds long.
        #[oai(validator(minimum(value = "0"), maximum(value = "86400")))]
        min_duration_s: Query<Option<i64>>,
        /// Only recordings started within this many days.
        #[oai(validator(minimum(value = "1"), maximum(value = "365")))]
        days: Query<Option<i64>>,
        /// Only recordings of visitors who dropped off in this funnel (with `dropped_at`).
        funnel_id: Query<Option<Uuid>>,
        /// The funnel step they did not complete, having completed the ones before it (2 or
        /// more).
        #[oai(validator(minimum(value = "2"), maximum(value = "8")))]
        dropped_at: Query<Option<u32>>,
        /// Only recordings of visitors in this saved segment (shared, or the caller's own):
        /// visitors with a visit in `period` that the segment's filters admit.
        segment_id: Query<Option<Uuid>>,
        /// The period the funnel or the segment is evaluated over (a Stats API `date_range`
        /// name or `YYYY-MM-DD,YYYY-MM-DD`, default `30d`).
        #[oai(validator(max_length = 40))]
        period: Query<Option<String>>,
        /// The previous page's `next_cursor`.
        #[oai(validator(max_length = 100))]
        cursor: Query<Option<String>>,
        /// Page size (1 to 100, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Page<ReplayOut>>> {
        let (org, project) = (scope.org(), scope.project_id());
        let before = parse_cursor(cursor.as_deref())?;
        let dropped = match (*funnel_id, *dropped_at) {
            (Some(funnel), Some(step)) => Some((funnel, step as usize)),
            (None, None) => None,
            _ => {
                return Err(ApiError::bad_request(
                    ProblemKind::InvalidRequest,
                    "`funnel_id` and `dropped_at` go together",
                ));
            }
        };
        let range = tenant::stats::request::parse_period(period.as_deref())?;
        let viewer = scope.caller.person();
        let project_row = scope.project.clone();
        let timezone = scope.project.timezone.clone();
        let first_day = scope.project.created_at.date_naive();
        let mut filter = ReplayFilter {
            page: page.0.clone().filter(|p| !p.is_empty()),
            has_error: *has_error,
            device: device.0.clone().filter(|d| !d.is_empty()),
            country: country.0.clone().filter(|c| !c.is_empty()),
            min_duration_s: *min_duration_s,
            since: days.map(|days| state.clock.now() - chrono::Duration::days(days)),
            visitors: None,
            segment: None,
            before,
        };
        let rows = scope
            .run(async |conn| {
                let today = tenant::stats::today(conn, &timezone, state.clock.now()).await?;
                let (from, to) = range.resolve(today, first_day);
                if let Some(segment_id) = *segment_id {
                    filter.segment = Some(
                        segment_query(conn, &project_row, viewer, segment_id, (from, to)).await?,
                    );
                }
                if let Some((funnel_id, step)) = &dropped {
                    let funnel = funnels::list(conn, org, project, Some(*funnel_id))
                        .await?
                        .into_iter()
                        .next()
                        .ok_or_else(|| ApiError::not_found("funnel"))?;
                    if *step > funnel.steps.len() {
                        return Err(ApiError::bad_request(
                            ProblemKind::InvalidRequest,
                            format!("the funnel has {} steps", funnel.steps.len()),
                        ));
                    }
                    let days = DayRange {
                        timezone: &timezone,
                        from,
                        to,
                    };
                    filter.visitors = Some(
                        funnels::dropped_visitors(conn, org, &funnel, &days, *step, 500).await?,
                    );
                }
                Ok::<_, ApiError>(
                    replays::list(conn, org, project, &filter, fetch_size(*limit)).await?,
                )
            })
            .await?;
        Ok(Json(Page::of(
            rows,
            *limit,
            |row| format!("{}_{}", row.started_at.timestamp_micros(), row.replay_id),
            replay_out,
        )))
    }

    /// One recording: its chunks (fetch each for the player) and its timeline markers, errors
    /// included.
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/replays/:replay_id",
        method = "get",
        operation_id = "get_replay"
    )]
    async fn get(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        replay_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<ReplayDetail>> {
        let (org, project) = (scope.org(), scope.project_id());
        let (row, chunks, errors) = scope
            .run(async |conn| {
                let row = replays::find(conn, org, project, *replay_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("recording"))?;
                let chunks = replays::chunks(conn, org, *replay_id).await?;
                let errors = replays::errors_in(conn, org, project, *replay_id).await?;
                Ok::<_, ApiError>((row, chunks, errors))
            })
            .await?;
        let start = row.started_at.timestamp_millis();
        let mut markers: Vec<MarkerOut> = chunks
            .iter()
            .flat_map(|c| c.markers())
            .map(|m| MarkerOut {
                offset_ms: m.t - start,
                kind: m.kind,
                label: m.label,
                issue_id: None,
            })
            .collect();
        markers.extend(errors.into_iter().map(|e| MarkerOut {
            offset_ms: (e.ts.timestamp_millis() - start).max(0),
            kind: "error".into(),
            label: e.title,
            issue_id: Some(e.issue_id),
        }));
        markers.sort_by_key(|m| m.offset_ms);
        Ok(Json(ReplayDetail {
            replay: replay_out(row),
            chunks: chunks
                .into_iter()
                .map(|c| ChunkOut {
                    seq: c.seq,
                    started_at: c.started_at,
                    ended_at: c.ended_at,
                    events: c.events,
                })
                .collect(),
            markers,
        }))
    }

    /// One chunk's rrweb events: a gzip-compressed JSON array (decompress it, e.g. with
    /// `DecompressionStream("gzip")`).
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/replays/:replay_id/chunks/:seq",
        method = "get",
        operation_id = "get_replay_chunk"
    )]
    async fn chunk(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        replay_id: Path<Uuid>,
        seq: Path<i32>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Binary<Vec<u8>>> {
        let (org, project) = (scope.org(), scope.project_id());
        let blobs = state.blobs.clone();
        let body = scope
            .run(async |conn| {
                let key = replays::chunk_key(conn, org, project, *replay_id, *seq)
                    .await?
                    .ok_or_else(|| ApiError::not_found("chunk"))?;
                let body = blobs
                    .get(conn, org, &key)
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::not_found("chunk"))?;
                Ok::<_, ApiError>(body)
            })
            .await?;
        Ok(Binary(body))
    }

    /// Delete a recording and its stored chunks (admins).
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/replays/:replay_id",
        method = "delete",
        operation_id = "delete_replay"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        replay_id: Path<Uuid>,
        scope: ProjectScope<Admin>,
    ) -> ApiResult<NoContent> {
        let (org, project) = (scope.org(), scope.project_id());
        let blobs = state.blobs.clone();
        let now = state.clock.now();
        scope
            .run(async |conn| {
                let row = replays::find(conn, org, project, *replay_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("recording"))?;
                let keys = replays::delete(conn, org, project, &[*replay_id], Some(now)).await?;
                blobs
                    .delete(conn, org, project, &keys, now)
                    .await
                    .map_err(ApiError::internal)?;
                let entry =
                    Entry::new(Action::ReplayDeleted, *replay_id).with(Changes::deleted(json!({
                        "project_id": project.uuid(),
                        "started_at": row.started_at,
                        "chunks": row.chunks,
                    })));
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
        // An object store's objects once no row names them (PostgreSQL's went above). What
        // fails stays owed and the hourly replay job retries it.
        if let Err(error) = state.blobs.settle(&state.db, org, now).await {
            tracing::warn!(%error, "deleting a recording's objects failed; retried hourly");
        }
        Ok(NoContent::NoContent)
    }

    /// The recordings an error issue happened in, newest first, each with where its player
    /// opens (the issue's first event in it).
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/issues/:issue_id/replays",
        method = "get",
        operation_id = "list_issue_replays"
    )]
    async fn of_issue(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        issue_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Vec<IssueReplayOut>>> {
        let (org, project) = (scope.org(), scope.project_id());
        let rows = scope
            .run(async |conn| {
                let linked = replays::of_issue(conn, org, project, *issue_id, 20).await?;
                let mut out = Vec::with_capacity(linked.len());
                for link in linked {
                    if let Some(row) = replays::find(conn, org, project, link.replay_id).await? {
                        out.push(IssueReplayOut {
                            replay_id: link.replay_id,
                            started_at: row.started_at,
                            event_id: link.event_id,
                            error_at: link.ts,
                            offset_ms: (link.ts - row.started_at).num_milliseconds().max(0),
                        });
                    }
                }
                Ok::<_, ApiError>(out)
            })
            .await?;
        Ok(Json(rows))
    }

    /// The project's replay settings.
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/replay-settings",
        method = "get",
        operation_id = "get_replay_settings"
    )]
    async fn settings(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<ReplaySettingsOut>> {
        let project = scope.project_id();
        let settings = scope
            .run(async |conn| {
                replays::settings(conn, project)
                    .await?
                    .ok_or_else(|| ApiError::not_found("project"))
            })
            .await?;
        Ok(Json(settings_out(settings)))
    }

    /// Change the project's replay settings (admins). Sites pick changes up within a minute.
    #[oai(
        path = "/api/v1/orgs/:org_id/projects/:project_id/replay-settings",
        method = "put",
        operation_id = "update_replay_settings"
    )]
    async fn update_settings(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<ReplaySettingsIn>,
        scope: ProjectScope<Admin>,
    ) -> ApiResult<Json<ReplaySettingsOut>> {
        let (org, project) = (scope.org(), scope.project_id());
        if let Some(days) = body.retention_days {
            scope.entitlements.check_retention(days)?;
        }
        let changes = ReplaySettingsChanges {
            enabled: body.enabled,
            sample_rate: body.sample_rate.map(|rate| rate as f32),
            mask_all_text: body.mask_all_text,
            unmask_selector: selector(
                body.unmask_selector.as_ref().map(|t| t.0.as_str()),
                "unmask_selector",
            )?,
            block_selector: selector(
                body.block_selector.as_ref().map(|t| t.0.as_str()),
                "block_selector",
            )?,
            retention_days: body.retention_days,
            heatmaps_enabled: body.heatmaps_enabled,
        };
        let settings = scope
            .run(async |conn| {
                let before = replays::settings(conn, project)
                    .await?
                    .ok_or_else(|| ApiError::not_found("project"))?;
                let after = replays::update_settings(conn, org, project, &changes).await?;
                let diff = Changes::diff(
                    &settings_out(before).to_json().unwrap_or_default(),
                    &settings_out(after.clone()).to_json().unwrap_or_default(),
                );
                if !diff.is_empty() {
                    let entry =
                        Entry::new(Action::ReplaySettingsUpdated, project.uuid()).with(diff);
                    audit::record(conn, org, entry).await?;
                }
                Ok::<_, ApiError>(after)
            })
            .await?;
        state.ingest.router.forget_replay_settings(project.uuid());
        Ok(Json(settings_out(settings)))
    }
}

/// The Stats query whose visitors a saved segment selects over `days`: the segment's filters,
/// read as the Stats API reads them (refused as there when the caller may not use it).
async fn segment_query(
    conn: &mut diesel_async::AsyncPgConnection,
    project: &tenant::tables::projects::Project,
    viewer: Option<tenant::UserId>,
    segment_id: Uuid,
    (from, to): (chrono::NaiveDate, chrono::NaiveDate),
) -> ApiResult<tenant::stats::StatsQuery> {
    let body = serde_json::json!({
        "site_id": "replays",
        "metrics": ["visitors"],
        "date_range": [from.to_string(), to.to_string()],
        "filters": [["is", "segment", [segment_id]]],
    });
    let (org, project_id) = (
        OrgId::from_uuid(project.org_id),
        ProjectId::from_uuid(project.project_id),
    );
    let request = tenant::stats::segments::parse(conn, org, project_id, viewer, &body).await?;
    Ok(tenant::stats::answer::query_for(project, &request, to))
}

/// Parses a list cursor `<started_at micros>_<id>`.
fn parse_cursor(cursor: Option<&str>) -> ApiResult<Option<(DateTime<Utc>, Uuid)>> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request(ProblemKind::InvalidCursor, "the cursor is not valid");
    let (micros, id) = cursor.split_once('_').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    let id = Uuid::try_parse(id).map_err(|_| bad())?;
    Ok(Some((at, id)))
}
