//! Error issues of a project: the list (filters, sort, sparkline), one issue with its
//! breakdowns, its events, and state changes (resolve, resolve in the next release, ignore,
//! reopen).

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use serde_json::json;
use tenant::DbError;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::diesel_async::AsyncPgConnection;
use tenant::errors::event::{Exception, Frame};
use tenant::problem::ProblemKind;
use tenant::tables::comments::{self, TargetKind};
use tenant::tables::error_issues::{self, IssueFilter, IssueSort, NewStatus};
use tenant::tables::notifications::{Kind, Notice};
use tenant::tables::projects::Project;
use tenant::tables::tasks;
use tenant::{OrgId, ProjectId, UserId};
use uuid::Uuid;
use worker::jobs::send_notifications::deliver;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::issue_notices::queue_resolution_comments;
use crate::routes::pagination::{Page, fetch_size};
use crate::scope::{Member, ProjectScope, Viewer};
use crate::state::AppState;

/// How an issue list is sorted.
#[derive(Debug, Clone, Copy, Enum, Default)]
#[oai(rename_all = "snake_case")]
pub enum IssueSortDto {
    /// Latest event first (default).
    #[default]
    LastSeen,
    /// Newest issue first.
    FirstSeen,
    /// Most events first.
    Events,
    /// Most affected users first.
    Users,
}

/// An issue's state.
#[derive(Debug, Clone, Copy, Enum, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum IssueStatusDto {
    /// Open.
    Unresolved,
    /// Fixed; a new event reopens it.
    Resolved,
    /// Not worth attention; new events are still counted.
    Ignored,
}

/// An issue in a list.
#[derive(Debug, Object)]
pub struct IssueOut {
    /// Id.
    pub id: Uuid,
    /// `Type: message`, or the message.
    pub title: String,
    /// Where it happened: `function (file)` of the crash's application frame.
    pub culprit: Option<String>,
    /// Level of the latest event.
    pub level: String,
    /// `unresolved`, `resolved` or `ignored`.
    pub status: String,
    /// First event.
    pub first_seen: DateTime<Utc>,
    /// Latest event.
    pub last_seen: DateTime<Utc>,
    /// Events.
    pub events: i64,
    /// Distinct affected users (counted by a keyed hash of the SDK's user).
    pub users: i64,
    /// Events on each of the last 14 days (UTC), oldest first.
    pub daily: Vec<i64>,
}

/// Events and users with one value.
#[derive(Debug, Object)]
pub struct ValueCountOut {
    /// The value (`null`: events without one).
    pub value: Option<String>,
    /// Events.
    pub events: i64,
    /// Distinct users.
    pub users: i64,
}

/// A tag's values.
#[derive(Debug, Object)]
pub struct TagOut {
    /// Tag key (`browser`, `os`, or the SDK's tags).
    pub key: String,
    /// Top values.
    pub values: Vec<ValueCountOut>,
}

/// A stack frame, after source maps.
#[derive(Debug, Object)]
pub struct FrameOut {
    /// File name.
    pub filename: Option<String>,
    /// Path or URL (the original source file when a source map applied).
    pub abs_path: Option<String>,
    /// Function.
    pub function: Option<String>,
    /// Module.
    pub module: Option<String>,
    /// Line (1-based).
    pub lineno: Option<u32>,
    /// Column (1-based).
    pub colno: Option<u32>,
    /// Application code.
    pub in_app: Option<bool>,
    /// Lines before.
    pub pre_context: Vec<String>,
    /// The line.
    pub context_line: Option<String>,
    /// Lines after.
    pub post_context: Vec<String>,
    /// Where the frame pointed before source maps (`url:line:column function`).
    pub minified: Option<String>,
}

/// One exception of a chain.
#[derive(Debug, Object)]
pub struct ExceptionOut {
    /// Type.
    #[oai(rename = "type")]
    pub kind: Option<String>,
    /// Message.
    pub value: Option<String>,
    /// How it was caught (`generic`, `auto.browser.global_handlers.onunhandledrejection`, …).
    pub mechanism: Option<String>,
    /// Whether the application handled it.
    pub handled: Option<bool>,
    /// A stack attached to a message rather than a real exception.
    pub synthetic: bool,
    /// Frames, oldest first (the crash is last).
    pub frames: Vec<FrameOut>,
}

impl From<Frame> for FrameOut {
    fn from(frame: Frame) -> Self {
        Self {
            filename: frame.filename,
            abs_path: frame.abs_path,
            function: frame.function,
            module: frame.module,
            lineno: frame.lineno,
            colno: frame.colno,
            in_app: frame.in_app,
            pre_context: frame.pre_context,
            context_line: frame.context_line,
            post_context: frame.post_context,
            minified: frame.minified,
        }
    }
}

impl From<Exception> for ExceptionOut {
    fn from(exception: Exception) -> Self {
        Self {
            kind: exception.kind,
            value: exception.value,
            mechanism: exception.mechanism,
            handled: exception.handled,
            synthetic: exception.synthetic,
            frames: exception.frames.into_iter().map(FrameOut::from).collect(),
        }
    }
}

/// An event of an issue, as stored (scrubbed).
#[derive(Debug, Object)]
pub struct ErrorEventOut {
    /// The SDK's event id.
    pub id: Uuid,
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
    /// Message.
    pub message: Option<String>,
    /// Exceptions, the outermost last.
    pub exceptions: Vec<ExceptionOut>,
    /// Tags.
    pub tags: serde_json::Value,
    /// Breadcrumbs, oldest first.
    pub breadcrumbs: serde_json::Value,
    /// Contexts (browser, os, device, runtime, …).
    pub contexts: serde_json::Value,
    /// The request (scrubbed; never cookies).
    pub request: serde_json::Value,
    /// The SDK's user id (scrubbed; never e-mail or IP address).
    pub user_id: Option<String>,
    /// SDK name and version.
    pub sdk: serde_json::Value,
}

/// One issue in full.
#[derive(Debug, Object)]
pub struct IssueDetail {
    /// The issue.
    pub issue: IssueOut,
    /// With "resolved in the next release": the release it was resolved in.
    pub resolved_in_release: Option<String>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Release of the first event.
    pub first_release: Option<String>,
    /// Release of the latest event.
    pub last_release: Option<String>,
    /// Events and users per release.
    pub releases: Vec<ValueCountOut>,
    /// Events and users per environment.
    pub environments: Vec<ValueCountOut>,
    /// Tag distributions (top 10 values of each, over the latest 10,000 events).
    pub tags: Vec<TagOut>,
    /// The latest event.
    pub latest_event: Option<ErrorEventOut>,
}

/// A state change.
#[derive(Debug, Object)]
pub struct IssuePatch {
    /// New state.
    pub status: IssueStatusDto,
    /// With `resolved`: resolved in the next release, so events of the current release do not
    /// reopen it (events of another release do).
    #[oai(default)]
    pub in_next_release: bool,
}

fn issue_out(issue: error_issues::Issue, users: i64) -> IssueOut {
    IssueOut {
        id: issue.issue_id,
        title: issue.title,
        culprit: issue.culprit,
        level: issue.level,
        status: issue.status,
        first_seen: issue.first_seen,
        last_seen: issue.last_seen,
        events: issue.times_seen,
        users,
        daily: Vec::new(),
    }
}

fn event_out(event: error_issues::StoredEvent) -> ErrorEventOut {
    let data = event.data;
    let field = |key: &str| data.get(key).cloned().unwrap_or(serde_json::Value::Null);
    ErrorEventOut {
        id: event.event_id,
        ts: event.ts,
        level: event.level,
        platform: event.platform,
        release: event.release,
        environment: event.environment,
        message: data
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_owned),
        exceptions: Exception::stored(&data)
            .into_iter()
            .map(ExceptionOut::from)
            .collect(),
        tags: field("tags"),
        breadcrumbs: field("breadcrumbs"),
        contexts: field("contexts"),
        request: field("request"),
        user_id: data
            .get("user")
            .and_then(|u| u.get("id"))
            .and_then(|id| id.as_str())
            .map(str::to_owned),
        sdk: field("sdk"),
    }
}

/// An empty cursor (`?cursor=`) is the first page, as an absent one.
fn page_offset(cursor: Option<&str>) -> ApiResult<i64> {
    match cursor.filter(|cursor| !cursor.is_empty()) {
        None => Ok(0),
        Some(cursor) => cursor
            .parse::<i64>()
            .ok()
            .filter(|offset| (0..=1_000_000).contains(offset))
            .ok_or_else(|| {
                ApiError::bad_request(ProblemKind::InvalidCursor, "the cursor is not valid")
            }),
    }
}

fn event_cursor(cursor: Option<&str>) -> ApiResult<Option<(DateTime<Utc>, Uuid)>> {
    let Some(cursor) = cursor.filter(|cursor| !cursor.is_empty()) else {
        return Ok(None);
    };
    let invalid = || ApiError::bad_request(ProblemKind::InvalidCursor, "the cursor is not valid");
    let (micros, id) = cursor.split_once('.').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let ts = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    let id = Uuid::try_parse(id).map_err(|_| invalid())?;
    Ok(Some((ts, id)))
}

fn counts(rows: &[error_issues::ValueCount], key: &str) -> Vec<ValueCountOut> {
    rows.iter()
        .filter(|row| row.key == key)
        .map(|row| ValueCountOut {
            value: row.value.clone(),
            events: row.events,
            users: row.users,
        })
        .collect()
}

/// Issue operations.
#[derive(Default)]
pub struct IssuesApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Errors")]
impl IssuesApi {
    /// Error issues of a project: `status`, `environment`, `release` and `query` (in the title)
    /// filter; `sort` is `last_seen` (default), `first_seen`, `events` or `users`.
    #[oai(
        path = "/:org_id/projects/:project_id/issues",
        method = "get",
        operation_id = "list_issues"
    )]
    #[allow(clippy::too_many_arguments)] // one per path and query parameter
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        status: Query<Option<IssueStatusDto>>,
        environment: Query<Option<String>>,
        release: Query<Option<String>>,
        query: Query<Option<String>>,
        sort: Query<Option<IssueSortDto>>,
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Page<IssueOut>>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let limit = tenant::tables::page_size(*limit);
        let offset = page_offset(cursor.as_deref())?;
        let filter = IssueFilter {
            status: status.map(|s| status_name(s).to_owned()),
            environment: environment.0.clone(),
            release: release.0.clone(),
            query: query.0.clone().filter(|q| !q.trim().is_empty()),
        };
        let sort = match sort.unwrap_or_default() {
            IssueSortDto::LastSeen => IssueSort::LastSeen,
            IssueSortDto::FirstSeen => IssueSort::FirstSeen,
            IssueSortDto::Events => IssueSort::Events,
            IssueSortDto::Users => IssueSort::Users,
        };
        let rows = scope
            .run(async |conn| {
                Ok::<_, DbError>(
                    error_issues::list(conn, org_id, project_id, &filter, sort, limit + 1, offset)
                        .await?,
                )
            })
            .await?;
        let more = rows.len() as i64 > limit;
        let items = rows
            .into_iter()
            .take(limit as usize)
            .map(|row| IssueOut {
                id: row.issue_id,
                title: row.title,
                culprit: row.culprit,
                level: row.level,
                status: row.status,
                first_seen: row.first_seen,
                last_seen: row.last_seen,
                events: row.times_seen,
                users: row.users,
                daily: row.daily,
            })
            .collect();
        Ok(Json(Page {
            items,
            next_cursor: more.then(|| (offset + limit).to_string()),
        }))
    }

    /// One issue: counts per release and environment, tag distributions, the latest event.
    #[oai(
        path = "/:org_id/projects/:project_id/issues/:issue_id",
        method = "get",
        operation_id = "get_issue"
    )]
    async fn get(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        issue_id: Path<Uuid>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<IssueDetail>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let (issue, users, breakdown, latest) = scope
            .run(async |conn| {
                let issue = error_issues::find(conn, org_id, project_id, *issue_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("issue"))?;
                let users = error_issues::users(conn, org_id, *issue_id).await?;
                let breakdown = error_issues::breakdown(conn, org_id, *issue_id).await?;
                let latest = error_issues::events(conn, org_id, *issue_id, None, 1).await?;
                Ok::<_, ApiError>((issue, users, breakdown, latest))
            })
            .await?;
        let tag_keys: Vec<&str> = {
            let mut keys: Vec<&str> = breakdown
                .iter()
                .map(|row| row.key.as_str())
                .filter(|key| !matches!(*key, "release" | "environment"))
                .collect();
            keys.dedup();
            keys
        };
        let tags = tag_keys
            .iter()
            .map(|key| TagOut {
                key: (*key).to_owned(),
                values: counts(&breakdown, key),
            })
            .collect();
        Ok(Json(IssueDetail {
            releases: counts(&breakdown, "release"),
            environments: counts(&breakdown, "environment"),
            tags,
            resolved_in_release: issue.resolved_in_release.clone(),
            resolved_at: issue.resolved_at,
            first_release: issue.first_release.clone(),
            last_release: issue.last_release.clone(),
            latest_event: latest.into_iter().next().map(event_out),
            issue: issue_out(issue, users),
        }))
    }

    /// Events of an issue, newest first.
    #[oai(
        path = "/:org_id/projects/:project_id/issues/:issue_id/events",
        method = "get",
        operation_id = "list_issue_events"
    )]
    #[allow(clippy::too_many_arguments)] // one per path and query parameter
    async fn events(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        issue_id: Path<Uuid>,
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<Page<ErrorEventOut>>> {
        let org_id = scope.org();
        let project_id = scope.project_id();
        let before = event_cursor(cursor.as_deref())?;
        let events = scope
            .run(async |conn| {
                error_issues::find(conn, org_id, project_id, *issue_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("issue"))?;
                Ok::<_, ApiError>(
                    error_issues::events(conn, org_id, *issue_id, before, fetch_size(*limit))
                        .await?,
                )
            })
            .await?;
        Ok(Json(Page::of(
            events,
            *limit,
            |event| format!("{}.{}", event.ts.timestamp_micros(), event.event_id),
            event_out,
        )))
    }

    /// Resolve (optionally in the next release), ignore or reopen an issue (members).
    /// Resolving comments on the issue's Jira or GitHub tickets whose connector says so.
    #[oai(
        path = "/:org_id/projects/:project_id/issues/:issue_id",
        method = "patch",
        operation_id = "update_issue"
    )]
    async fn update(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        issue_id: Path<Uuid>,
        body: Json<IssuePatch>,
        state: Data<&AppState>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<IssueOut>> {
        let org_id = scope.org();
        let project = scope.project.clone();
        let public_url = state.public_url.as_deref().unwrap_or_default();
        let status = match (body.status, body.in_next_release) {
            (IssueStatusDto::Resolved, true) => NewStatus::ResolvedInNextRelease,
            (IssueStatusDto::Resolved, false) => NewStatus::Resolved,
            (IssueStatusDto::Unresolved, false) => NewStatus::Unresolved,
            (IssueStatusDto::Ignored, false) => NewStatus::Ignored,
            (_, true) => {
                return Err(ApiError::invalid(
                    ProblemKind::InvalidValue,
                    "`in_next_release` applies to `resolved` only",
                ));
            }
        };
        let by = scope.access.user_id;
        let now = state.clock.now();
        let (issue, users) = scope
            .run(async |conn| {
                let issue = change_status(
                    conn,
                    (org_id, &project),
                    *issue_id,
                    &status,
                    (by, now, public_url),
                )
                .await?;
                let users = error_issues::users(conn, org_id, *issue_id).await?;
                Ok::<_, ApiError>((issue, users))
            })
            .await?;
        Ok(Json(issue_out(issue, users)))
    }
}

/// Sets an issue's status, as `by` at `now`: the audit record; comments on its Jira or GitHub
/// tickets when it was resolved; its task moved on the task board; and the members who follow
/// it (its task's assignee, those who commented on it) told, but `by`. The one way an issue's
/// state is changed by a member, from the issue or from its task. Answers the issue after.
pub(crate) async fn change_status(
    conn: &mut AsyncPgConnection,
    (org_id, project): (OrgId, &Project),
    issue_id: Uuid,
    status: &NewStatus,
    (by, now, public_url): (Option<UserId>, DateTime<Utc>, &str),
) -> ApiResult<error_issues::Issue> {
    let project_id = ProjectId::from_uuid(project.project_id);
    // The board's lock first, as every board write takes it: the issue's task may move.
    tasks::lock_columns(conn, org_id, project_id).await?;
    let before = error_issues::find(conn, org_id, project_id, issue_id)
        .await?
        .ok_or_else(|| ApiError::not_found("issue"))?;
    if !error_issues::set_status(conn, org_id, project_id, issue_id, status).await? {
        return Err(ApiError::not_found("issue"));
    }
    let issue = error_issues::find(conn, org_id, project_id, issue_id)
        .await?
        .ok_or_else(|| ApiError::not_found("issue"))?;
    let fields = |issue: &error_issues::Issue| {
        json!({
            "status": issue.status,
            "resolved_in_release": issue.resolved_in_release,
        })
    };
    let changes = Changes::diff(&fields(&before), &fields(&issue)).set(
        "project_id",
        json!(project_id),
        json!(project_id),
    );
    let entry = Entry::new(Action::IssueUpdated, issue.issue_id).with(changes);
    audit::record(conn, org_id, entry).await?;
    if before.status != "resolved" && issue.status == "resolved" {
        queue_resolution_comments(conn, (org_id, project), &issue, public_url).await?;
    }
    if before.status != issue.status {
        let states = (before.status.as_str(), issue.status.as_str());
        crate::routes::tasks::follow_issue(conn, (org_id, project_id), issue_id, states).await?;
        let mut followers = comments::participants(
            conn,
            org_id,
            project_id,
            (TargetKind::Issue, &issue_id.to_string()),
        )
        .await?;
        if let Some(assignee) = tasks::of_issue(conn, org_id, issue_id)
            .await?
            .and_then(|task| task.assignee_id)
        {
            followers.push(assignee);
        }
        let notice = Notice {
            project: project_id,
            kind: Kind::IssueState,
            actor: by,
            target_kind: "issue".to_owned(),
            target_id: issue_id.to_string(),
            summary: format!("“{}” is now {}", issue.title, issue.status),
        };
        deliver(conn, org_id, &notice, &followers, now).await?;
    }
    Ok(issue)
}

fn status_name(status: IssueStatusDto) -> &'static str {
    match status {
        IssueStatusDto::Unresolved => "unresolved",
        IssueStatusDto::Resolved => "resolved",
        IssueStatusDto::Ignored => "ignored",
    }
}
