//! `replay_sessions`, `replay_chunks` and `replay_blobs`: recorded sessions, their chunks, and
//! the chunk bodies when the blob store is PostgreSQL; and a project's replay settings (columns
//! of `projects`).
//!
//! A chunk is recorded in one transaction with its session's totals (and its body, with the
//! PostgreSQL store), so an acknowledged chunk is whole and a refused one leaves nothing. Errors
//! are linked to recordings by the salted visitor id and time: an error event of the project,
//! from the same visitor, between the recording's first and last event (give or take
//! [`LINK_SLACK_SECONDS`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::replay::chunk::{MAX_RECORDING_MARKERS, Marker, Summary};
use crate::schema::{projects, replay_blobs, replay_chunks, replay_sessions, replay_tombstones};
use crate::stats::StatsQuery;
use crate::stats::params::{Params, Statement};
use crate::stats::sql::matching_visitors_cte;
use crate::{OrgId, ProjectId};

/// How far outside a recording's span an error still belongs to it, in seconds (the SDK's and
/// the recorder's clocks are the same browser's, but events are sent at different moments).
pub const LINK_SLACK_SECONDS: i64 = 5;

/// A project's replay settings.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = projects)]
pub struct ReplaySettings {
    /// Whether visitors' sessions are recorded.
    #[diesel(column_name = replay_enabled)]
    pub enabled: bool,
    /// Share of visitors recorded (0 to 1).
    #[diesel(column_name = replay_sample_rate)]
    pub sample_rate: f32,
    /// Whether all text is masked (then only `unmask_selector` shows text).
    #[diesel(column_name = replay_mask_all_text)]
    pub mask_all_text: bool,
    /// CSS selector of elements whose text is recorded.
    #[diesel(column_name = replay_unmask_selector)]
    pub unmask_selector: Option<String>,
    /// CSS selector of elements not recorded at all (beside `.beacon-block`).
    #[diesel(column_name = replay_block_selector)]
    pub block_selector: Option<String>,
    /// Days recordings are kept.
    #[diesel(column_name = replay_retention_days)]
    pub retention_days: i32,
    /// Whether every visitor's clicks and scroll depth are collected for heatmaps.
    pub heatmaps_enabled: bool,
}

/// Changes to the replay settings; `None` leaves a field as it is (`Some(None)` clears a
/// selector).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = projects)]
pub struct ReplaySettingsChanges {
    /// Recording on or off.
    #[diesel(column_name = replay_enabled)]
    pub enabled: Option<bool>,
    /// Share of visitors recorded.
    #[diesel(column_name = replay_sample_rate)]
    pub sample_rate: Option<f32>,
    /// Mask all text.
    #[diesel(column_name = replay_mask_all_text)]
    pub mask_all_text: Option<bool>,
    /// Selector of unmasked elements.
    #[diesel(column_name = replay_unmask_selector)]
    pub unmask_selector: Option<Option<String>>,
    /// Selector of blocked elements.
    #[diesel(column_name = replay_block_selector)]
    pub block_selector: Option<Option<String>>,
    /// Retention in days.
    #[diesel(column_name = replay_retention_days)]
    pub retention_days: Option<i32>,
    /// Heatmaps on or off.
    pub heatmaps_enabled: Option<bool>,
}

/// The replay settings of `project` (read by the ingest role too, which sees every project).
pub async fn settings(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
) -> QueryResult<Option<ReplaySettings>> {
    projects::table
        .filter(projects::project_id.eq(project))
        .select(ReplaySettings::as_select())
        .first(conn)
        .await
        .optional()
}

/// Changes the replay settings of `project`, answering them as they are now.
pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    changes: &ReplaySettingsChanges,
) -> QueryResult<ReplaySettings> {
    let target = projects::table.find((org, project));
    if changes.enabled.is_none()
        && changes.sample_rate.is_none()
        && changes.mask_all_text.is_none()
        && changes.unmask_selector.is_none()
        && changes.block_selector.is_none()
        && changes.retention_days.is_none()
        && changes.heatmaps_enabled.is_none()
    {
        return target.select(ReplaySettings::as_select()).first(conn).await;
    }
    diesel::update(target)
        .set(changes)
        .returning(ReplaySettings::as_returning())
        .get_result(conn)
        .await
}

/// Who and what a new session is, from its first chunk's request.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Organization.
    pub org_id: OrgId,
    /// Project.
    pub project_id: ProjectId,
    /// The id the recorder made.
    pub replay_id: Uuid,
    /// Salted visitor id.
    pub visitor_id: i64,
    /// Country, when known.
    pub country: Option<String>,
    /// `desktop`, `mobile`, `tablet` or `unknown`.
    pub device: String,
    /// Browser family.
    pub browser: String,
    /// Operating system.
    pub os: String,
}

/// Limits one session is held to.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Longest recording, in seconds.
    pub max_duration_s: i64,
    /// Most stored bytes (gzip).
    pub max_bytes: i64,
    /// Highest chunk number.
    pub max_seq: i32,
}

/// What recording a chunk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored now.
    Stored,
    /// That chunk was stored before (a retry): nothing changed.
    AlreadyStored,
}

/// Why a chunk was not recorded.
#[derive(Debug)]
pub enum RecordError {
    /// The session id belongs to another project of the organization.
    OtherProject,
    /// The session would go over a limit (which one).
    LimitReached(&'static str),
    /// A person deleted the recording: its late chunks are refused.
    Deleted,
    /// The database failed.
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for RecordError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(error)
    }
}

/// Where a chunk's body is kept: `<org>/<project>/<replay>/<seq>` (so an organization's or a
/// project's objects can be found by prefix).
pub fn blob_key(org: OrgId, project: ProjectId, replay_id: Uuid, seq: i32) -> String {
    format!("{}/{}/{}/{seq}", org.uuid(), project.uuid(), replay_id)
}

#[derive(QueryableByName)]
struct Existing {
    #[diesel(sql_type = SqlUuid)]
    project_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    started_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    ended_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
    #[diesel(sql_type = Integer)]
    markers: i32,
    #[diesel(sql_type = Bool)]
    deleted: bool,
    #[diesel(sql_type = Bool)]
    stored: bool,
}

/// Records chunk `seq` of a session: the session's row (made by its first chunk to arrive, and
/// locked), the chunk's row, and the session's totals. The caller stores the body under
/// [`blob_key`] in the same transaction when the answer is [`Recorded::Stored`].
pub async fn record_chunk(
    conn: &mut AsyncPgConnection,
    session: &NewSession,
    seq: i32,
    summary: &Summary,
    stored_bytes: usize,
    limits: SessionLimits,
) -> Result<Recorded, RecordError> {
    if seq > limits.max_seq {
        return Err(RecordError::LimitReached("chunks"));
    }
    let entry = <[String]>::first(&summary.pages)
        .cloned()
        .unwrap_or_default();
    diesel::sql_query(
        "INSERT INTO replay_sessions (org_id, replay_id, project_id, visitor_id, started_at, \
                                      ended_at, entry_page, country, device, browser, os) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (org_id, replay_id) DO NOTHING",
    )
    .bind::<SqlUuid, _>(session.org_id.uuid())
    .bind::<SqlUuid, _>(session.replay_id)
    .bind::<SqlUuid, _>(session.project_id.uuid())
    .bind::<BigInt, _>(session.visitor_id)
    .bind::<Timestamptz, _>(summary.started_at)
    .bind::<Timestamptz, _>(summary.ended_at)
    .bind::<Text, _>(&entry)
    .bind::<Nullable<Text>, _>(session.country.as_deref())
    .bind::<Text, _>(&session.device)
    .bind::<Text, _>(&session.browser)
    .bind::<Text, _>(&session.os)
    .execute(conn)
    .await?;
    // One statement locks the session and reads whether a person deleted it and whether this
    // chunk is already stored. A session gone while this waited for its lock was deleted.
    let existing: Option<Existing> = diesel::sql_query(
        "SELECT project_id, started_at, ended_at, bytes, markers, \
                EXISTS (SELECT 1 FROM replay_tombstones t \
                        WHERE t.org_id = $1 AND t.replay_id = $2) AS deleted, \
                EXISTS (SELECT 1 FROM replay_chunks c \
                        WHERE c.org_id = $1 AND c.replay_id = $2 AND c.seq = $3) AS stored \
         FROM replay_sessions WHERE org_id = $1 AND replay_id = $2 FOR UPDATE OF replay_sessions",
    )
    .bind::<SqlUuid, _>(session.org_id.uuid())
    .bind::<SqlUuid, _>(session.replay_id)
    .bind::<Integer, _>(seq)
    .get_result(conn)
    .await
    .optional()?;
    let Some(existing) = existing else {
        return Err(RecordError::Deleted);
    };
    if existing.project_id != session.project_id.uuid() {
        return Err(RecordError::OtherProject);
    }
    // Read in the statement that follows this upload's insert: a deletion that committed while
    // the insert waited is seen (and the row the insert made is rolled back with the refusal).
    if existing.deleted {
        return Err(RecordError::Deleted);
    }
    // A retry of a stored chunk is answered as such before the limits are checked: with the
    // chunk already counted, a retry near a limit would otherwise be refused.
    if existing.stored {
        return Ok(Recorded::AlreadyStored);
    }
    let started = existing.started_at.min(summary.started_at);
    let ended = existing.ended_at.max(summary.ended_at);
    if (ended - started).num_seconds() > limits.max_duration_s {
        return Err(RecordError::LimitReached("duration"));
    }
    if existing.bytes + stored_bytes as i64 > limits.max_bytes {
        return Err(RecordError::LimitReached("bytes"));
    }
    let room = MAX_RECORDING_MARKERS.saturating_sub(usize::try_from(existing.markers).unwrap_or(0));
    let kept = &summary.markers[..summary.markers.len().min(room)];
    let markers = serde_json::to_value(kept).unwrap_or_default();
    let inserted = diesel::insert_into(replay_chunks::table)
        .values((
            replay_chunks::org_id.eq(session.org_id),
            replay_chunks::replay_id.eq(session.replay_id),
            replay_chunks::seq.eq(seq),
            replay_chunks::started_at.eq(summary.started_at),
            replay_chunks::ended_at.eq(summary.ended_at),
            replay_chunks::events.eq(summary.events as i32),
            replay_chunks::bytes.eq(stored_bytes as i32),
            replay_chunks::markers.eq(markers),
            replay_chunks::blob_key.eq(blob_key(
                session.org_id,
                session.project_id,
                session.replay_id,
                seq,
            )),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 0 {
        return Ok(Recorded::AlreadyStored);
    }
    diesel::sql_query(
        "UPDATE replay_sessions SET \
             started_at = least(started_at, $3), ended_at = greatest(ended_at, $4), \
             chunks = chunks + 1, bytes = bytes + $5, clicks = clicks + $6, markers = markers + $11, \
             rage_clicks = rage_clicks + $7, dead_clicks = dead_clicks + $8, \
             has_snapshot = has_snapshot OR $9, \
             entry_page = CASE WHEN entry_page = '' OR $3 < started_at THEN coalesce($10[1], entry_page) \
                               ELSE entry_page END, \
             pages = (SELECT coalesce(array_agg(page ORDER BY first), '{}') FROM \
                        (SELECT page, min(ord) AS first FROM unnest(pages || $10) \
                           WITH ORDINALITY AS p(page, ord) GROUP BY page \
                         ORDER BY min(ord) LIMIT 50) AS kept) \
         WHERE org_id = $1 AND replay_id = $2",
    )
    .bind::<SqlUuid, _>(session.org_id.uuid())
    .bind::<SqlUuid, _>(session.replay_id)
    .bind::<Timestamptz, _>(summary.started_at)
    .bind::<Timestamptz, _>(summary.ended_at)
    .bind::<BigInt, _>(stored_bytes as i64)
    .bind::<Integer, _>(summary.clicks as i32)
    .bind::<Integer, _>(summary.rage_clicks as i32)
    .bind::<Integer, _>(summary.dead_clicks as i32)
    .bind::<Bool, _>(summary.has_snapshot)
    .bind::<diesel::sql_types::Array<Text>, _>(&summary.pages)
    .bind::<Integer, _>(kept.len() as i32)
    .execute(conn)
    .await?;
    Ok(Recorded::Stored)
}

/// A recorded session as lists show it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ReplayRow {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub replay_id: Uuid,
    /// First event.
    #[diesel(sql_type = Timestamptz)]
    pub started_at: DateTime<Utc>,
    /// Last event.
    #[diesel(sql_type = Timestamptz)]
    pub ended_at: DateTime<Utc>,
    /// First page's path.
    #[diesel(sql_type = Text)]
    pub entry_page: String,
    /// Pages seen, in order.
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    pub pages: Vec<String>,
    /// Country.
    #[diesel(sql_type = Nullable<Text>)]
    pub country: Option<String>,
    /// Device class.
    #[diesel(sql_type = Text)]
    pub device: String,
    /// Browser.
    #[diesel(sql_type = Text)]
    pub browser: String,
    /// OS.
    #[diesel(sql_type = Text)]
    pub os: String,
    /// Chunks stored.
    #[diesel(sql_type = Integer)]
    pub chunks: i32,
    /// Bytes stored.
    #[diesel(sql_type = BigInt)]
    pub bytes: i64,
    /// Clicks.
    #[diesel(sql_type = Integer)]
    pub clicks: i32,
    /// Rage clicks.
    #[diesel(sql_type = Integer)]
    pub rage_clicks: i32,
    /// Dead clicks.
    #[diesel(sql_type = Integer)]
    pub dead_clicks: i32,
    /// Whether it can be played (a full snapshot arrived).
    #[diesel(sql_type = Bool)]
    pub has_snapshot: bool,
    /// Error events in it.
    #[diesel(sql_type = BigInt)]
    pub errors: i64,
}

/// Which sessions a list holds.
#[derive(Debug, Clone, Default)]
pub struct ReplayFilter {
    /// Only sessions that saw this path.
    pub page: Option<String>,
    /// Only sessions with (true) or without (false) an error.
    pub has_error: Option<bool>,
    /// Only this device class.
    pub device: Option<String>,
    /// Only this country.
    pub country: Option<String>,
    /// Only sessions at least this long, in seconds.
    pub min_duration_s: Option<i64>,
    /// Only sessions that started at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only sessions of these visitors (those who dropped off in a funnel).
    pub visitors: Option<Vec<i64>>,
    /// Only sessions of visitors with a visit this query's filter admits in its days (a
    /// saved segment's visitors).
    pub segment: Option<StatsQuery>,
    /// Only sessions that started before this (time, id): the previous page's last row.
    pub before: Option<(DateTime<Utc>, Uuid)>,
}

/// An error event `e` of the project within session `r`'s span, from its visitor.
fn error_in_span() -> String {
    format!(
        "e.org_id = r.org_id AND e.project_id = r.project_id AND e.visitor_id = r.visitor_id \
         AND e.ts BETWEEN r.started_at - make_interval(secs => {LINK_SLACK_SECONDS}) \
                      AND r.ended_at + make_interval(secs => {LINK_SLACK_SECONDS})"
    )
}

fn columns() -> String {
    format!(
        "r.replay_id, r.started_at, r.ended_at, r.entry_page, r.pages, r.country, r.device, \
         r.browser, r.os, r.chunks, r.bytes, r.clicks, r.rage_clicks, r.dead_clicks, \
         r.has_snapshot, (SELECT count(*) FROM error_events e WHERE {}) AS errors",
        error_in_span()
    )
}

/// The newest sessions of `project` that `filter` admits, at most `limit`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    filter: &ReplayFilter,
    limit: i64,
) -> QueryResult<Vec<ReplayRow>> {
    list_statement(org, project, filter, limit)
        .into_query()
        .load(conn)
        .await
}

/// The statement [`list`] runs: only the conditions `filter` sets, the page chosen through
/// the `(org, project, started_at)` index before the error counts are made for its rows.
fn list_statement(org: OrgId, project: ProjectId, filter: &ReplayFilter, limit: i64) -> Statement {
    let mut params = Params::default();
    let segment = filter
        .segment
        .as_ref()
        .map(|query| matching_visitors_cte(query, &mut params));
    let mut conditions = vec![
        format!("r.org_id = {}", params.bind(org.uuid())),
        format!("r.project_id = {}", params.bind(project.uuid())),
    ];
    if let Some(page) = &filter.page {
        conditions.push(format!("{} = ANY (r.pages)", params.bind(page.clone())));
    }
    if let Some(device) = &filter.device {
        conditions.push(format!("r.device = {}", params.bind(device.clone())));
    }
    if let Some(country) = &filter.country {
        conditions.push(format!("r.country = {}", params.bind(country.clone())));
    }
    if let Some(seconds) = filter.min_duration_s {
        conditions.push(format!(
            "extract(epoch FROM r.ended_at - r.started_at) >= {}",
            params.bind(seconds)
        ));
    }
    if let Some(since) = filter.since {
        conditions.push(format!("r.started_at >= {}", params.bind(since)));
    }
    if let Some(visitors) = &filter.visitors {
        conditions.push(format!(
            "r.visitor_id = ANY ({})",
            params.bind(visitors.clone())
        ));
    }
    if segment.is_some() {
        conditions.push("r.visitor_id IN (SELECT visitor_id FROM matching_visitors)".into());
    }
    if let Some((at, id)) = filter.before {
        conditions.push(format!(
            "(r.started_at, r.replay_id) < ({}, {})",
            params.bind(at),
            params.bind(id)
        ));
    }
    if let Some(has_error) = filter.has_error {
        let not = if has_error { "" } else { "NOT " };
        conditions.push(format!(
            "{not}EXISTS (SELECT 1 FROM error_events e WHERE {})",
            error_in_span()
        ));
    }
    let limit = params.bind(limit);
    let with = segment
        .map(|ctes| format!("WITH {ctes} "))
        .unwrap_or_default();
    let sql = format!(
        "{with}SELECT {} FROM (SELECT r.* FROM replay_sessions r WHERE {} \
           ORDER BY r.started_at DESC, r.replay_id DESC LIMIT {limit}) r \
         ORDER BY r.started_at DESC, r.replay_id DESC",
        columns(),
        conditions.join(" AND ")
    );
    params.finish(sql)
}

/// One session of `project`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    replay_id: Uuid,
) -> QueryResult<Option<ReplayRow>> {
    let sql = format!(
        "SELECT {} FROM replay_sessions r \
         WHERE r.org_id = $1 AND r.project_id = $2 AND r.replay_id = $3",
        columns()
    );
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(org.uuid())
        .bind::<SqlUuid, _>(project.uuid())
        .bind::<SqlUuid, _>(replay_id)
        .get_result(conn)
        .await
        .optional()
}

/// A chunk as the player needs it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = replay_chunks)]
pub struct ChunkRow {
    /// Its number.
    pub seq: i32,
    /// First event.
    pub started_at: DateTime<Utc>,
    /// Last event.
    pub ended_at: DateTime<Utc>,
    /// Events.
    pub events: i32,
    /// Stored bytes.
    pub bytes: i32,
    /// Timeline markers.
    pub markers: serde_json::Value,
    /// Where its body is.
    pub blob_key: String,
}

impl ChunkRow {
    /// Its markers, typed (a stored value that is not a marker list reads as none).
    pub fn markers(&self) -> Vec<Marker> {
        serde_json::from_value(self.markers.clone()).unwrap_or_default()
    }
}

/// The chunks of a session, in order.
pub async fn chunks(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    replay_id: Uuid,
) -> QueryResult<Vec<ChunkRow>> {
    replay_chunks::table
        .filter(replay_chunks::org_id.eq(org))
        .filter(replay_chunks::replay_id.eq(replay_id))
        .order(replay_chunks::seq)
        .select(ChunkRow::as_select())
        .load(conn)
        .await
}

/// An error event inside a recording.
#[derive(Debug, Clone, QueryableByName)]
pub struct LinkedError {
    /// The recording.
    #[diesel(sql_type = SqlUuid)]
    pub replay_id: Uuid,
    /// Its issue.
    #[diesel(sql_type = SqlUuid)]
    pub issue_id: Uuid,
    /// The issue's title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// The event's id.
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    /// When it happened.
    #[diesel(sql_type = Timestamptz)]
    pub ts: DateTime<Utc>,
}

/// The error events inside one recording, oldest first (at most 100).
pub async fn errors_in(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    replay_id: Uuid,
) -> QueryResult<Vec<LinkedError>> {
    diesel::sql_query(
        "SELECT r.replay_id, e.issue_id, i.title, e.event_id, e.ts \
         FROM replay_sessions r \
         JOIN error_events e ON e.org_id = r.org_id AND e.project_id = r.project_id \
              AND e.visitor_id = r.visitor_id \
              AND e.ts BETWEEN r.started_at - make_interval(secs => $3) \
                           AND r.ended_at + make_interval(secs => $3) \
         JOIN error_issues i ON i.org_id = e.org_id AND i.issue_id = e.issue_id \
         WHERE r.org_id = $1 AND r.project_id = $2 AND r.replay_id = $4 \
         ORDER BY e.ts LIMIT 100",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(project.uuid())
    .bind::<diesel::sql_types::Double, _>(LINK_SLACK_SECONDS as f64)
    .bind::<SqlUuid, _>(replay_id)
    .load(conn)
    .await
}

/// The recordings holding events of an issue, newest first, each with its first such event
/// (where the player opens).
pub async fn of_issue(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    issue_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<LinkedError>> {
    diesel::sql_query(
        "SELECT DISTINCT ON (r.started_at, r.replay_id) \
                r.replay_id, e.issue_id, i.title, e.event_id, e.ts \
         FROM error_events e \
         JOIN error_issues i ON i.org_id = e.org_id AND i.issue_id = e.issue_id \
         JOIN replay_sessions r ON r.org_id = e.org_id AND r.project_id = e.project_id \
              AND r.visitor_id = e.visitor_id \
              AND e.ts BETWEEN r.started_at - make_interval(secs => $3) \
                           AND r.ended_at + make_interval(secs => $3) \
         WHERE e.org_id = $1 AND e.project_id = $2 AND e.issue_id = $4 \
           AND e.visitor_id IS NOT NULL \
         ORDER BY r.started_at DESC, r.replay_id DESC, e.ts \
         LIMIT $5",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(project.uuid())
    .bind::<diesel::sql_types::Double, _>(LINK_SLACK_SECONDS as f64)
    .bind::<SqlUuid, _>(issue_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The blob key of chunk `seq` of a session of `project`.
pub async fn chunk_key(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    replay_id: Uuid,
    seq: i32,
) -> QueryResult<Option<String>> {
    replay_chunks::table
        .inner_join(
            replay_sessions::table.on(replay_sessions::org_id
                .eq(replay_chunks::org_id)
                .and(replay_sessions::replay_id.eq(replay_chunks::replay_id))),
        )
        .filter(replay_chunks::org_id.eq(org))
        .filter(replay_chunks::replay_id.eq(replay_id))
        .filter(replay_chunks::seq.eq(seq))
        .filter(replay_sessions::project_id.eq(project))
        .select(replay_chunks::blob_key)
        .first(conn)
        .await
        .optional()
}

/// Deletes sessions of `project` (their chunks go with them), answering the blob keys of the
/// How long a deleted recording's tombstone refuses its late chunks: a recording lasts at most
/// an hour and its events are at most a day old, so two days is more than enough.
pub const TOMBSTONE_DAYS: i64 = 2;

/// Deletes sessions of `project` with their chunks (and, with `deleted_by_person_at`, leaves
/// tombstones so chunks still on their way are refused rather than re-creating them); answers
/// the blob keys of the deleted chunks, to delete in the same transaction.
///
/// The sessions are locked first, and their chunks read in a later statement: an upload that
/// held a session's lock has committed by then, so its chunk is deleted too, and one that
/// comes after sees the tombstone.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    replay_ids: &[Uuid],
    deleted_by_person_at: Option<DateTime<Utc>>,
) -> QueryResult<Vec<String>> {
    let locked: Vec<Uuid> = replay_sessions::table
        .filter(replay_sessions::org_id.eq(org))
        .filter(replay_sessions::project_id.eq(project))
        .filter(replay_sessions::replay_id.eq_any(replay_ids))
        .select(replay_sessions::replay_id)
        .for_update()
        .load(conn)
        .await?;
    if locked.is_empty() {
        return Ok(Vec::new());
    }
    let keys = diesel::delete(
        replay_chunks::table
            .filter(replay_chunks::org_id.eq(org))
            .filter(replay_chunks::replay_id.eq_any(&locked)),
    )
    .returning(replay_chunks::blob_key)
    .get_results(conn)
    .await?;
    diesel::delete(
        replay_sessions::table
            .filter(replay_sessions::org_id.eq(org))
            .filter(replay_sessions::replay_id.eq_any(&locked)),
    )
    .execute(conn)
    .await?;
    if let Some(at) = deleted_by_person_at {
        let tombstones: Vec<_> = locked
            .iter()
            .map(|id| {
                (
                    replay_tombstones::org_id.eq(org),
                    replay_tombstones::replay_id.eq(*id),
                    replay_tombstones::project_id.eq(project),
                    replay_tombstones::deleted_at.eq(at),
                )
            })
            .collect();
        diesel::insert_into(replay_tombstones::table)
            .values(tombstones)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(keys)
}

/// Deletes `org`'s tombstones older than [`TOMBSTONE_DAYS`].
pub async fn forget_tombstones(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        replay_tombstones::table
            .filter(replay_tombstones::org_id.eq(org))
            .filter(replay_tombstones::deleted_at.lt(now - chrono::Duration::days(TOMBSTONE_DAYS))),
    )
    .execute(conn)
    .await
}

/// Sessions of `project` that started before `before`, at most `limit` (for retention).
pub async fn older_than(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    replay_sessions::table
        .filter(replay_sessions::org_id.eq(org))
        .filter(replay_sessions::project_id.eq(project))
        .filter(replay_sessions::started_at.lt(before))
        .select(replay_sessions::replay_id)
        .limit(limit)
        .load(conn)
        .await
}

/// The organizations with recordings older than their project's retention, tombstones older
/// than [`TOMBSTONE_DAYS`] or object deletions due (asked as `beacon_sweeper`, which may read
/// only that much).
pub async fn orgs_to_sweep(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Org {
        #[diesel(sql_type = SqlUuid)]
        org_id: Uuid,
    }
    let orgs: Vec<Org> = diesel::sql_query(
        "SELECT r.org_id FROM replay_sessions r \
         JOIN projects p ON p.org_id = r.org_id AND p.project_id = r.project_id \
         WHERE r.started_at < $1 - make_interval(days => p.replay_retention_days) \
         UNION SELECT org_id FROM replay_tombstones WHERE deleted_at < $1 - make_interval(days => $2) \
         UNION SELECT org_id FROM blob_deletions WHERE next_attempt_at <= $1",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(TOMBSTONE_DAYS as i32)
    .load(conn)
    .await?;
    Ok(orgs.into_iter().map(|o| o.org_id).collect())
}

/// Stores a body in the PostgreSQL blob store.
pub async fn put_blob(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    key: &str,
    body: &[u8],
) -> QueryResult<()> {
    diesel::insert_into(replay_blobs::table)
        .values((
            replay_blobs::org_id.eq(org),
            replay_blobs::blob_key.eq(key),
            replay_blobs::project_id.eq(project),
            replay_blobs::body.eq(body),
        ))
        .on_conflict((replay_blobs::org_id, replay_blobs::blob_key))
        .do_update()
        .set(replay_blobs::body.eq(body))
        .execute(conn)
        .await
        .map(|_| ())
}

/// A body from the PostgreSQL blob store.
pub async fn get_blob(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    key: &str,
) -> QueryResult<Option<Vec<u8>>> {
    replay_blobs::table
        .find((org, key))
        .select(replay_blobs::body)
        .first(conn)
        .await
        .optional()
}

/// Deletes bodies from the PostgreSQL blob store.
pub async fn delete_blobs(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    keys: &[String],
) -> QueryResult<usize> {
    diesel::delete(
        replay_blobs::table
            .filter(replay_blobs::org_id.eq(org))
            .filter(replay_blobs::blob_key.eq_any(keys)),
    )
    .execute(conn)
    .await
}
