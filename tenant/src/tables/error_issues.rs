//! `error_issues` and `error_events`: error events from Sentry-compatible SDKs, grouped into
//! issues by fingerprint, with state and counts.
//!
//! Recording is idempotent: an SDK that retries an event (same `event_id`) changes nothing.
//! A new event on a resolved issue reopens it (a regression), unless the issue was resolved
//! "in the next release" and the event comes from the release that was current then.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{OrgId, ProjectId};

use crate::schema::{error_events, error_issues};

mod record;
pub use record::{record, record_batch};

/// An issue.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = error_issues)]
pub struct Issue {
    /// Organization.
    pub org_id: Uuid,
    /// Id.
    pub issue_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// SHA-256 (hex) of the grouping inputs.
    pub fingerprint: String,
    /// `Type: message` or the message.
    pub title: String,
    /// Where it happened: the top in-app frame.
    pub culprit: Option<String>,
    /// Level of the latest event.
    pub level: String,
    /// `unresolved`, `resolved` or `ignored`.
    pub status: String,
    /// With "resolved in the next release": the release current when it was resolved.
    pub resolved_in_release: Option<String>,
    /// When it was last resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// First event.
    pub first_seen: DateTime<Utc>,
    /// Latest event.
    pub last_seen: DateTime<Utc>,
    /// Events recorded.
    pub times_seen: i64,
    /// Release of the first event.
    pub first_release: Option<String>,
    /// Release of the latest event.
    pub last_release: Option<String>,
}

/// An event to record, already scrubbed, symbolicated and fingerprinted.
#[derive(Debug, Clone)]
pub struct NewErrorEvent {
    /// Organization.
    pub org_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// The SDK's event id.
    pub event_id: Uuid,
    /// Grouping fingerprint (SHA-256 hex).
    pub fingerprint: String,
    /// Issue title, if this event opens the issue.
    pub title: String,
    /// Culprit.
    pub culprit: Option<String>,
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// `fatal`, `error`, `warning`, `info` or `debug`.
    pub level: String,
    /// SDK platform.
    pub platform: Option<String>,
    /// Release.
    pub release: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Keyed hash of the user, when the SDK named one.
    pub user_hash: Option<String>,
    /// Salted visitor id of the sending browser (links the event to its session recording).
    pub visitor_id: Option<i64>,
    /// The stored event (exception chain, breadcrumbs, tags, contexts, request, user).
    pub data: serde_json::Value,
}

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The issue the event belongs to.
    pub issue_id: Uuid,
    /// The event opened a new issue.
    pub new_issue: bool,
    /// The event reopened a resolved issue.
    pub regressed: bool,
    /// The event had been recorded before (an SDK retry); nothing changed.
    pub duplicate: bool,
}

/// How a list of issues is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueSort {
    /// Most recent event first.
    LastSeen,
    /// Newest issue first.
    FirstSeen,
    /// Most events first.
    Events,
    /// Most affected users first.
    Users,
}

/// Filters of an issue list.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    /// Only this state.
    pub status: Option<String>,
    /// Only issues with events in this environment.
    pub environment: Option<String>,
    /// Only issues with events in this release.
    pub release: Option<String>,
    /// Title contains this (case-insensitive).
    pub query: Option<String>,
}

/// An issue in a list, with its affected users and events per day for a sparkline.
#[derive(Debug, Clone, QueryableByName)]
pub struct IssueRow {
    /// Id.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub issue_id: Uuid,
    /// Title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Culprit.
    #[diesel(sql_type = Nullable<Text>)]
    pub culprit: Option<String>,
    /// Level.
    #[diesel(sql_type = Text)]
    pub level: String,
    /// State.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// First event.
    #[diesel(sql_type = Timestamptz)]
    pub first_seen: DateTime<Utc>,
    /// Latest event.
    #[diesel(sql_type = Timestamptz)]
    pub last_seen: DateTime<Utc>,
    /// Events.
    #[diesel(sql_type = BigInt)]
    pub times_seen: i64,
    /// Distinct affected users (hashed).
    #[diesel(sql_type = BigInt)]
    pub users: i64,
    /// Events on each of the last 14 days (UTC), oldest first.
    #[diesel(sql_type = diesel::sql_types::Array<BigInt>)]
    pub daily: Vec<i64>,
}

/// Issues of a project, filtered and sorted, `limit` from `offset`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    filter: &IssueFilter,
    sort: IssueSort,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<IssueRow>> {
    let order = match sort {
        IssueSort::LastSeen => "i.last_seen DESC",
        IssueSort::FirstSeen => "i.first_seen DESC",
        IssueSort::Events => "i.times_seen DESC",
        IssueSort::Users => "users DESC",
    };
    let sql = format!(
        "SELECT i.issue_id, i.title, i.culprit, i.level, i.status, i.first_seen, i.last_seen, \
                i.times_seen, \
                (SELECT count(DISTINCT e.user_hash) FROM error_events e \
                  WHERE e.org_id = i.org_id AND e.issue_id = i.issue_id) AS users, \
                ARRAY(SELECT (SELECT count(*) FROM error_events e \
                               WHERE e.org_id = i.org_id AND e.issue_id = i.issue_id \
                                 AND e.ts >= d AND e.ts < d + interval '1 day') \
                      FROM generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') - interval '13 days', \
                                           date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') AS g(day), \
                           LATERAL (SELECT g.day AT TIME ZONE 'UTC' AS d) AS b \
                      ORDER BY g.day) AS daily \
         FROM error_issues i \
         WHERE i.org_id = $1 AND i.project_id = $2 \
           AND ($3::text IS NULL OR i.status = $3) \
           AND ($4::text IS NULL OR i.title ILIKE '%' || $4 || '%') \
           AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM error_events e WHERE e.org_id = i.org_id \
                AND e.issue_id = i.issue_id AND e.environment = $5)) \
           AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM error_events e WHERE e.org_id = i.org_id \
                AND e.issue_id = i.issue_id AND e.release = $6)) \
         ORDER BY {order}, i.issue_id \
         LIMIT $7 OFFSET $8"
    );
    let query = filter.query.as_deref().map(escape_like);
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Uuid, _>(org_id)
        .bind::<diesel::sql_types::Uuid, _>(project_id)
        .bind::<Nullable<Text>, _>(filter.status.as_deref())
        .bind::<Nullable<Text>, _>(query.as_deref())
        .bind::<Nullable<Text>, _>(filter.environment.as_deref())
        .bind::<Nullable<Text>, _>(filter.release.as_deref())
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>(offset)
        .load(conn)
        .await
}

/// `text` with LIKE's wildcards taken literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// One issue of a project.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    issue_id: Uuid,
) -> QueryResult<Option<Issue>> {
    error_issues::table
        .find((org_id, issue_id))
        .filter(error_issues::project_id.eq(project_id))
        .select(Issue::as_select())
        .first(conn)
        .await
        .optional()
}

/// A count of events by one value (release, environment, or a tag's value).
#[derive(Debug, Clone, QueryableByName)]
pub struct ValueCount {
    /// The tag key (`release`, `environment`, or the tag).
    #[diesel(sql_type = Text)]
    pub key: String,
    /// The value; `None` when events have none.
    #[diesel(sql_type = Nullable<Text>)]
    pub value: Option<String>,
    /// Events with it.
    #[diesel(sql_type = BigInt)]
    pub events: i64,
    /// Distinct users among them.
    #[diesel(sql_type = BigInt)]
    pub users: i64,
}

/// Events and users of an issue per release, per environment, and per value of each tag
/// (the top 10 values of each, from the latest 10,000 events).
pub async fn breakdown(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    issue_id: Uuid,
) -> QueryResult<Vec<ValueCount>> {
    diesel::sql_query(
        "WITH recent AS (SELECT * FROM error_events WHERE org_id = $1 AND issue_id = $2 \
                         ORDER BY ts DESC LIMIT 10000), \
              pairs AS (SELECT 'release' AS key, release AS value, user_hash FROM recent \
                        UNION ALL SELECT 'environment', environment, user_hash FROM recent \
                        UNION ALL SELECT t.key, t.value, user_hash FROM recent, \
                                  jsonb_each_text(CASE WHEN jsonb_typeof(data->'tags') = 'object' \
                                                       THEN data->'tags' ELSE '{}' END) AS t), \
              counted AS (SELECT key, value, count(*) AS events, count(DISTINCT user_hash) AS users, \
                                 row_number() OVER (PARTITION BY key ORDER BY count(*) DESC, value) AS rank \
                          FROM pairs GROUP BY key, value) \
         SELECT key, value, events, users FROM counted WHERE rank <= 10 ORDER BY key, events DESC, value",
    )
    .bind::<diesel::sql_types::Uuid, _>(org_id)
    .bind::<diesel::sql_types::Uuid, _>(issue_id)
    .load(conn)
    .await
}

/// Distinct affected users of an issue.
pub async fn users(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    issue_id: Uuid,
) -> QueryResult<i64> {
    error_events::table
        .filter(error_events::org_id.eq(org_id))
        .filter(error_events::issue_id.eq(issue_id))
        .select(diesel::dsl::count(error_events::user_hash).aggregate_distinct())
        .get_result(conn)
        .await
}

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = error_events)]
pub struct StoredEvent {
    /// The SDK's event id.
    pub event_id: Uuid,
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// Level.
    pub level: String,
    /// Platform.
    pub platform: Option<String>,
    /// Release.
    pub release: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// The stored event.
    pub data: serde_json::Value,
}

/// Events of an issue, newest first, before `(before_ts, before_id)` when paging.
pub async fn events(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    issue_id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<StoredEvent>> {
    let mut query = error_events::table
        .filter(error_events::org_id.eq(org_id))
        .filter(error_events::issue_id.eq(issue_id))
        .select(StoredEvent::as_select())
        .order((error_events::ts.desc(), error_events::event_id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((ts, id)) = before {
        query = query.filter(
            error_events::ts
                .lt(ts)
                .or(error_events::ts.eq(ts).and(error_events::event_id.lt(id))),
        );
    }
    query.load(conn).await
}

/// A state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewStatus {
    /// Open again.
    Unresolved,
    /// Resolved: any new event reopens it.
    Resolved,
    /// Resolved in the next release: new events of the current release do not reopen it.
    ResolvedInNextRelease,
    /// Ignored: new events are recorded, the issue stays ignored.
    Ignored,
}

/// Changes an issue's state; false when it does not exist in the project.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    issue_id: Uuid,
    status: &NewStatus,
) -> QueryResult<bool> {
    let target = error_issues::table
        .find((org_id, issue_id))
        .filter(error_issues::project_id.eq(project_id));
    let (name, resolved_at): (&str, Option<DateTime<Utc>>) = match status {
        NewStatus::Unresolved => ("unresolved", None),
        NewStatus::Ignored => ("ignored", None),
        NewStatus::Resolved | NewStatus::ResolvedInNextRelease => ("resolved", Some(Utc::now())),
    };
    let rows = if *status == NewStatus::ResolvedInNextRelease {
        diesel::update(target)
            .set((
                error_issues::status.eq(name),
                error_issues::resolved_at.eq(resolved_at),
                // The release current now; without one, any event reopens it.
                error_issues::resolved_in_release.eq(error_issues::last_release),
            ))
            .execute(conn)
            .await?
    } else {
        diesel::update(target)
            .set((
                error_issues::status.eq(name),
                error_issues::resolved_at.eq(resolved_at),
                error_issues::resolved_in_release.eq(None::<String>),
            ))
            .execute(conn)
            .await?
    };
    Ok(rows > 0)
}

/// An issue first seen or reopened in a period.
#[derive(Debug, Clone, QueryableByName)]
pub struct ChangedIssue {
    /// Issue.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub issue_id: Uuid,
    /// Scrubbed title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Level.
    #[diesel(sql_type = Text)]
    pub level: String,
    /// Seen before the period: it reopened (a regression) rather than appeared.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub regressed: bool,
    /// Events in the period.
    #[diesel(sql_type = BigInt)]
    pub events: i64,
}

/// The period's local days `(from, to)` (inclusive, in `timezone`) as SQL bounds on `$3`..`$5`.
const PERIOD: &str = "($4::date::timestamp AT TIME ZONE $3)";
const PERIOD_END: &str = "(($5::date + 1)::timestamp AT TIME ZONE $3)";

/// Issues of the project first seen or reopened from `days.0` to `days.1` (local days in
/// `timezone`), most events in the period first.
pub async fn changed_between(
    conn: &mut AsyncPgConnection,
    (org_id, project_id): (OrgId, ProjectId),
    timezone: &str,
    days: (chrono::NaiveDate, chrono::NaiveDate),
    limit: i64,
) -> QueryResult<Vec<ChangedIssue>> {
    diesel::sql_query(format!(
        "SELECT i.issue_id, i.title, i.level, i.first_seen < {PERIOD} AS regressed, \
                (SELECT count(*) FROM error_events e WHERE e.org_id = i.org_id \
                   AND e.project_id = i.project_id AND e.issue_id = i.issue_id \
                   AND e.ts >= {PERIOD} AND e.ts < {PERIOD_END}) AS events \
         FROM error_issues i \
         WHERE i.org_id = $1 AND i.project_id = $2 \
           AND ((i.first_seen >= {PERIOD} AND i.first_seen < {PERIOD_END}) \
             OR (i.regressed_at >= {PERIOD} AND i.regressed_at < {PERIOD_END})) \
         ORDER BY events DESC, i.issue_id LIMIT $6"
    ))
    .bind::<diesel::sql_types::Uuid, _>(org_id)
    .bind::<diesel::sql_types::Uuid, _>(project_id)
    .bind::<Text, _>(timezone)
    .bind::<diesel::sql_types::Date, _>(days.0)
    .bind::<diesel::sql_types::Date, _>(days.1)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Error events of the project from `days.0` to `days.1` (local days in `timezone`).
pub async fn events_between(
    conn: &mut AsyncPgConnection,
    (org_id, project_id): (OrgId, ProjectId),
    timezone: &str,
    days: (chrono::NaiveDate, chrono::NaiveDate),
) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        events: i64,
    }
    let count: Count = diesel::sql_query(format!(
        "SELECT count(*) AS events FROM error_events \
         WHERE org_id = $1 AND project_id = $2 AND ts >= {PERIOD} AND ts < {PERIOD_END}"
    ))
    .bind::<diesel::sql_types::Uuid, _>(org_id)
    .bind::<diesel::sql_types::Uuid, _>(project_id)
    .bind::<Text, _>(timezone)
    .bind::<diesel::sql_types::Date, _>(days.0)
    .bind::<diesel::sql_types::Date, _>(days.1)
    .get_result(conn)
    .await?;
    Ok(count.events)
}

/// An issue as an export writes it, times in the project's time zone.
#[derive(Debug, Clone, QueryableByName)]
pub struct ExportedIssue {
    /// Id.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub issue_id: Uuid,
    /// Scrubbed title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Culprit.
    #[diesel(sql_type = Nullable<Text>)]
    pub culprit: Option<String>,
    /// Level.
    #[diesel(sql_type = Text)]
    pub level: String,
    /// `unresolved`, `resolved` or `ignored`.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// First event, ISO 8601 with the project's UTC offset.
    #[diesel(sql_type = Text)]
    pub first_seen: String,
    /// Latest event, likewise.
    #[diesel(sql_type = Text)]
    pub last_seen: String,
    /// Events.
    #[diesel(sql_type = BigInt)]
    pub times_seen: i64,
    /// First release seen.
    #[diesel(sql_type = Nullable<Text>)]
    pub first_release: Option<String>,
    /// Latest release seen.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_release: Option<String>,
}

/// Up to `limit` issues of the project after `after` (by id), optionally of one `status`, with
/// times in `timezone` (`2026-11-20T09:30:00+01:00`). Exports page through with the last id.
pub async fn export_batch(
    conn: &mut AsyncPgConnection,
    (org_id, project_id): (OrgId, ProjectId),
    timezone: &str,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ExportedIssue>> {
    diesel::sql_query(
        "SELECT issue_id, title, culprit, level, status, \
                beacon_local_iso(first_seen, $3) AS first_seen, \
                beacon_local_iso(last_seen, $3) AS last_seen, \
                times_seen, first_release, last_release \
         FROM error_issues \
         WHERE org_id = $1 AND project_id = $2 AND ($4::text IS NULL OR status = $4) \
           AND ($5::uuid IS NULL OR issue_id > $5) \
         ORDER BY issue_id LIMIT $6",
    )
    .bind::<diesel::sql_types::Uuid, _>(org_id)
    .bind::<diesel::sql_types::Uuid, _>(project_id)
    .bind::<Text, _>(timezone)
    .bind::<Nullable<Text>, _>(status)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
