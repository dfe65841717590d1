//! The task board of a project: tasks (often made from an error issue) in columns, dragged
//! between and within columns, filtered by assignee and label, overdue ones flagged.
//!
//! A task tracking an error issue follows it both ways: dropping the task in Done resolves the
//! issue, taking it out of Done reopens it, and resolving or reopening the issue moves the task
//! ([`follow_issue`], called by the issue route). Assigning a task notifies the assignee.
//! Viewers read the board; members change it, with the plan's `task_board` feature (reading and
//! deleting are never gated, so a downgrade hides nothing).

use chrono::{DateTime, NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Enum, Object, OpenApi};
use serde_json::{Value, json};
use std::collections::HashMap;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::diesel_async::AsyncPgConnection;
use tenant::problem::ProblemKind;
use tenant::tables::notifications::{Kind, Notice};
use tenant::tables::tasks::{self, Column, Fields, Task};
use tenant::tables::{error_issues, memberships};
use tenant::{OrgId, ProjectId, UserId};
use uuid::Uuid;
use worker::jobs::send_notifications::deliver;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::{Text, trimmed};
use crate::scope::{Member, ProjectScope, Viewer};
use crate::state::AppState;
use billing::Feature;

/// Most labels one task has.
const MAX_LABELS: usize = 10;
/// Longest label, in characters.
const LABEL_CHARS: usize = 30;

/// How urgent a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default)]
#[oai(rename_all = "snake_case")]
pub enum PriorityDto {
    /// Not set.
    #[default]
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl PriorityDto {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }
}

/// A new task.
#[derive(Debug, Object)]
pub struct TaskIn {
    /// Title, 1 to 200 characters.
    #[oai(validator(max_length = 800))]
    pub title: Text,
    /// Markdown, up to 10,000 characters.
    #[oai(default, validator(max_length = 40000))]
    pub description: Text,
    /// The member it is assigned to.
    pub assignee_id: Option<Uuid>,
    /// Due date.
    pub due_on: Option<NaiveDate>,
    /// Up to 10 labels of 1 to 30 characters.
    #[oai(default, validator(max_items = 50))]
    pub labels: Vec<Text>,
    /// Priority.
    #[oai(default)]
    pub priority: PriorityDto,
    /// The error issue of the project it tracks (one task per issue).
    pub issue_id: Option<Uuid>,
    /// The column it starts in (default: To do).
    pub column_id: Option<Uuid>,
}

/// Changes to a task; omitted fields keep their value, `null` clears assignee or due date.
#[derive(Debug, Object)]
pub struct TaskPatch {
    /// Title, 1 to 200 characters.
    #[oai(validator(max_length = 800))]
    pub title: Option<Text>,
    /// Markdown, up to 10,000 characters.
    #[oai(validator(max_length = 40000))]
    pub description: Option<Text>,
    /// The member it is assigned to (`null`: nobody).
    pub assignee_id: MaybeUndefined<Uuid>,
    /// Due date (`null`: none).
    pub due_on: MaybeUndefined<NaiveDate>,
    /// Up to 10 labels.
    #[oai(validator(max_items = 50))]
    pub labels: Option<Vec<Text>>,
    /// Priority.
    pub priority: Option<PriorityDto>,
}

/// Where a task goes.
#[derive(Debug, Object)]
pub struct PlaceIn {
    /// The column.
    pub column_id: Uuid,
    /// The task of that column it goes just before (`null` or omitted: last).
    pub before_task_id: Option<Uuid>,
}

/// A new column, or a column's new name.
#[derive(Debug, Object)]
pub struct ColumnIn {
    /// Name, 1 to 40 characters.
    #[oai(validator(max_length = 160))]
    pub name: Text,
}

/// A task.
#[derive(Debug, Object)]
pub struct TaskOut {
    /// Id.
    pub id: Uuid,
    /// Its column.
    pub column_id: Uuid,
    /// Title.
    pub title: String,
    /// Markdown (render it as text).
    pub description: String,
    /// Assignee.
    pub assignee_id: Option<Uuid>,
    /// The assignee's address.
    pub assignee_email: Option<String>,
    /// Due date.
    pub due_on: Option<NaiveDate>,
    /// Due before today (in the project's time zone) and not in Done.
    pub overdue: bool,
    /// Labels.
    pub labels: Vec<String>,
    /// `none`, `low`, `medium`, `high` or `urgent`.
    pub priority: String,
    /// The error issue it tracks.
    pub issue_id: Option<Uuid>,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// A column with its tasks in order.
#[derive(Debug, Object)]
pub struct ColumnOut {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// `todo`, `in_progress`, `done` or `custom` (only custom columns can be deleted).
    pub role: String,
    /// Tasks, in order (those the filters keep).
    pub tasks: Vec<TaskOut>,
}

/// A member tasks can be assigned to.
#[derive(Debug, Object)]
pub struct AssigneeOut {
    /// User id.
    pub user_id: Uuid,
    /// Address.
    pub email: String,
}

/// The board.
#[derive(Debug, Object)]
pub struct BoardOut {
    /// Columns in order.
    pub columns: Vec<ColumnOut>,
    /// Every label in use on the board.
    pub labels: Vec<String>,
    /// The members tasks can be assigned to.
    pub members: Vec<AssigneeOut>,
    /// Today in the project's time zone (what `overdue` compares with).
    pub today: NaiveDate,
}

/// A task's title, trimmed and checked.
fn title_of(text: &str) -> ApiResult<String> {
    trimmed(text, (1, 200), "a task's title is 1 to 200 characters")
}

/// A description, trimmed and checked.
fn description_of(text: &str) -> ApiResult<String> {
    trimmed(
        text,
        (0, 10_000),
        "a task's description is up to 10,000 characters",
    )
}

/// Labels trimmed, each once, checked.
fn labels_of(given: &[Text]) -> ApiResult<Vec<String>> {
    let refusal = format!("a label is 1 to {LABEL_CHARS} characters");
    let mut labels: Vec<String> = Vec::new();
    for label in given {
        let label = trimmed(label, (1, LABEL_CHARS), &refusal)?;
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    if labels.len() > MAX_LABELS {
        return Err(ApiError::invalid(
            ProblemKind::InvalidValue,
            format!("a task has at most {MAX_LABELS} labels"),
        ));
    }
    Ok(labels)
}

/// What the audit record says of a task (its project and title always, so the activity feed
/// can name it).
fn audited(project: ProjectId, task: &Task) -> Value {
    json!({
        "project_id": project,
        "title": task.title,
        "assignee_id": task.assignee_id,
        "due_on": task.due_on,
        "labels": task.labels,
        "priority": task.priority,
        "issue_id": task.issue_id,
        "column_id": task.column_id,
    })
}

/// 422 unless `user` is a member of the organization.
async fn check_assignee(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: Option<Uuid>,
) -> ApiResult<()> {
    if let Some(user) = user
        && memberships::role_of(conn, org, UserId::from_uuid(user))
            .await?
            .is_none()
    {
        return Err(ApiError::invalid(
            ProblemKind::InvalidValue,
            "a task is assigned to a member of the organization",
        ));
    }
    Ok(())
}

/// Notifies a task's new assignee (not when they assigned it to themselves).
async fn notify_assignee(
    conn: &mut AsyncPgConnection,
    (org, project): (OrgId, ProjectId),
    task: &Task,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(assignee) = task.assignee_id else {
        return Ok(());
    };
    let notice = Notice {
        project,
        kind: Kind::Assignment,
        actor: by,
        target_kind: "task".to_owned(),
        target_id: task.task_id.to_string(),
        summary: task.title.clone(),
    };
    deliver(conn, org, &notice, &[assignee], now).await?;
    Ok(())
}

/// A column of the board by id (404 when it is another board's).
fn column_in(columns: &[Column], id: Uuid) -> ApiResult<&Column> {
    columns
        .iter()
        .find(|c| c.column_id == id)
        .ok_or_else(|| ApiError::not_found("column"))
}

/// The column with `role` (every board has one of each built-in role).
fn column_with(columns: &[Column], role: tasks::Role) -> ApiResult<&Column> {
    columns
        .iter()
        .find(|c| c.role == role.as_str())
        .ok_or_else(|| ApiError::internal(format!("the board has no {} column", role.as_str())))
}

/// Moves the task tracking `issue` after the issue changed from `before` to `after`: into Done
/// when it was resolved, back to To do when it was reopened while its task was done. Called by
/// the issue route (and by [`TasksApi::place`] after it changed the issue itself, when the task
/// is already where it belongs).
pub(crate) async fn follow_issue(
    conn: &mut AsyncPgConnection,
    (org, project): (OrgId, ProjectId),
    issue: Uuid,
    (before, after): (&str, &str),
) -> ApiResult<()> {
    let Some(task) = tasks::of_issue(conn, org, issue).await? else {
        return Ok(());
    };
    let columns = tasks::lock_columns(conn, org, project).await?;
    let done = column_with(&columns, tasks::Role::Done)?;
    let in_done = task.column_id == done.column_id;
    let target = if after == "resolved" && before != "resolved" && !in_done {
        done.column_id
    } else if after == "unresolved" && before == "resolved" && in_done {
        column_with(&columns, tasks::Role::Todo)?.column_id
    } else {
        return Ok(());
    };
    tasks::place(conn, org, task.task_id, target, None).await?;
    Ok(())
}

fn task_out(task: Task, emails: &HashMap<Uuid, String>, today: NaiveDate, done: Uuid) -> TaskOut {
    TaskOut {
        overdue: task.due_on.is_some_and(|d| d < today) && task.column_id != done,
        assignee_email: task.assignee_id.and_then(|a| emails.get(&a).cloned()),
        id: task.task_id,
        column_id: task.column_id,
        title: task.title,
        description: task.description,
        assignee_id: task.assignee_id,
        due_on: task.due_on,
        labels: task.labels,
        priority: task.priority,
        issue_id: task.issue_id,
        created_at: task.created_at,
        updated_at: task.updated_at,
    }
}

/// The board's members by id, and today in the project's time zone.
async fn board_context(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    timezone: &str,
    now: DateTime<Utc>,
) -> ApiResult<(HashMap<Uuid, String>, NaiveDate)> {
    let members = memberships::list(conn, org, None, 10_000).await?;
    let today = tenant::stats::realtime::today(conn, timezone, now).await?;
    Ok((
        members.into_iter().map(|m| (m.user_id, m.email)).collect(),
        today,
    ))
}

/// One task as the board shows it (its assignee's address looked up alone).
async fn one_task(
    conn: &mut AsyncPgConnection,
    (org, project): (OrgId, ProjectId),
    timezone: &str,
    task: Task,
    now: DateTime<Utc>,
) -> ApiResult<TaskOut> {
    let columns = tasks::read_columns(conn, org, project).await?;
    let done = column_with(&columns, tasks::Role::Done)?.column_id;
    let today = tenant::stats::realtime::today(conn, timezone, now).await?;
    let mut emails = HashMap::new();
    if let Some(assignee) = task.assignee_id
        && let Some(member) = memberships::find(conn, org, UserId::from_uuid(assignee)).await?
    {
        emails.insert(assignee, member.email);
    }
    Ok(task_out(task, &emails, today, done))
}

/// Task board operations.
#[derive(Default)]
pub struct TasksApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Errors")]
impl TasksApi {
    /// The project's task board: columns in order with their tasks, optionally only those of
    /// one assignee or label.
    #[oai(
        path = "/:org_id/projects/:project_id/task-board",
        method = "get",
        operation_id = "get_task_board"
    )]
    async fn board(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        /// Only tasks assigned to this member.
        assignee_id: Query<Option<Uuid>>,
        /// Only tasks with this label.
        #[oai(validator(max_length = 100))]
        label: Query<Option<String>>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<BoardOut>> {
        let (org, project) = (scope.org(), scope.project_id());
        let timezone = scope.project.timezone.clone();
        let now = state.clock.now();
        let board = scope
            .run(async |conn| {
                let columns = tasks::read_columns(conn, org, project).await?;
                let all = tasks::list(conn, org, project).await?;
                let (emails, today) = board_context(conn, org, &timezone, now).await?;
                let done = column_with(&columns, tasks::Role::Done)?.column_id;
                let mut labels: Vec<String> =
                    all.iter().flat_map(|t| t.labels.iter().cloned()).collect();
                labels.sort();
                labels.dedup();
                let mut members: Vec<AssigneeOut> = emails
                    .iter()
                    .map(|(user_id, email)| AssigneeOut {
                        user_id: *user_id,
                        email: email.clone(),
                    })
                    .collect();
                members.sort_by(|a, b| a.email.cmp(&b.email));
                let keep = |task: &Task| {
                    assignee_id.is_none_or(|a| task.assignee_id == Some(a))
                        && label.as_ref().is_none_or(|l| task.labels.contains(l))
                };
                let mut out: Vec<ColumnOut> = columns
                    .iter()
                    .map(|c| ColumnOut {
                        id: c.column_id,
                        name: c.name.clone(),
                        role: c.role.clone(),
                        tasks: Vec::new(),
                    })
                    .collect();
                for task in all.into_iter().filter(keep) {
                    if let Some(column) = out.iter_mut().find(|c| c.id == task.column_id) {
                        column.tasks.push(task_out(task, &emails, today, done));
                    }
                }
                Ok::<_, ApiError>(BoardOut {
                    columns: out,
                    labels,
                    members,
                    today,
                })
            })
            .await?;
        Ok(Json(board))
    }

    /// Add a task (to To do unless a column is named); assigning it notifies the assignee.
    #[oai(
        path = "/:org_id/projects/:project_id/tasks",
        method = "post",
        operation_id = "create_task"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<TaskIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<TaskOut>> {
        scope.entitlements.require(Feature::TaskBoard)?;
        let fields = Fields {
            title: title_of(&body.title)?,
            description: description_of(&body.description)?,
            assignee_id: body.assignee_id,
            due_on: body.due_on,
            labels: labels_of(&body.labels)?,
            priority: body.priority.as_str().to_owned(),
            issue_id: body.issue_id,
        };
        let (org, project, by) = (scope.org(), scope.project_id(), scope.access.user_id);
        let timezone = scope.project.timezone.clone();
        let now = state.clock.now();
        let made = scope
            .run(async |conn| {
                let columns = tasks::lock_columns(conn, org, project).await?;
                if tasks::count(conn, org, project).await? >= tasks::MAX_TASKS {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        format!(
                            "a board holds at most {} tasks: delete some first",
                            tasks::MAX_TASKS
                        ),
                    ));
                }
                let column = match body.column_id {
                    Some(id) => column_in(&columns, id)?,
                    None => column_with(&columns, tasks::Role::Todo)?,
                }
                .column_id;
                check_assignee(conn, org, fields.assignee_id).await?;
                if let Some(issue) = fields.issue_id {
                    if error_issues::find(conn, org, project, issue)
                        .await?
                        .is_none()
                    {
                        return Err(ApiError::not_found("issue"));
                    }
                    if let Some(task) = tasks::of_issue(conn, org, issue).await? {
                        return Err(ApiError::conflict(
                            ProblemKind::TaskExists,
                            format!(
                                "the issue already has a task ({}); nothing was made",
                                task.task_id
                            ),
                        ));
                    }
                }
                let task = tasks::create(conn, (org, project), column, &fields, by).await?;
                let entry = Entry::new(Action::TaskCreated, task.task_id)
                    .with(Changes::created(audited(project, &task)));
                audit::record(conn, org, entry).await?;
                notify_assignee(conn, (org, project), &task, by, now).await?;
                one_task(conn, (org, project), &timezone, task, now).await
            })
            .await?;
        Ok(Created::Created(Json(made)))
    }

    /// Change a task; a new assignee is notified.
    #[oai(
        path = "/:org_id/projects/:project_id/tasks/:task_id",
        method = "patch",
        operation_id = "update_task"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        task_id: Path<Uuid>,
        body: Json<TaskPatch>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<TaskOut>> {
        scope.entitlements.require(Feature::TaskBoard)?;
        let (org, project, by) = (scope.org(), scope.project_id(), scope.access.user_id);
        let timezone = scope.project.timezone.clone();
        let now = state.clock.now();
        let patch = body.0;
        let changed = scope
            .run(async |conn| {
                tasks::lock_columns(conn, org, project).await?;
                let before = tasks::find(conn, org, project, *task_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("task"))?;
                let fields = Fields {
                    title: match &patch.title {
                        Some(t) => title_of(t)?,
                        None => before.title.clone(),
                    },
                    description: match &patch.description {
                        Some(d) => description_of(d)?,
                        None => before.description.clone(),
                    },
                    assignee_id: match patch.assignee_id {
                        MaybeUndefined::Undefined => before.assignee_id,
                        MaybeUndefined::Null => None,
                        MaybeUndefined::Value(a) => Some(a),
                    },
                    due_on: match patch.due_on {
                        MaybeUndefined::Undefined => before.due_on,
                        MaybeUndefined::Null => None,
                        MaybeUndefined::Value(d) => Some(d),
                    },
                    labels: match &patch.labels {
                        Some(l) => labels_of(l)?,
                        None => before.labels.clone(),
                    },
                    priority: patch
                        .priority
                        .map_or_else(|| before.priority.clone(), |p| p.as_str().to_owned()),
                    issue_id: before.issue_id,
                };
                check_assignee(conn, org, fields.assignee_id).await?;
                let task = tasks::update(conn, org, before.task_id, &fields, now).await?;
                let changes = Changes::diff(&audited(project, &before), &audited(project, &task))
                    .set("project_id", json!(project), json!(project))
                    .set("title", json!(before.title), json!(task.title));
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::TaskUpdated, task.task_id).with(changes),
                )
                .await?;
                if task.assignee_id != before.assignee_id {
                    notify_assignee(conn, (org, project), &task, by, now).await?;
                }
                one_task(conn, (org, project), &timezone, task, now).await
            })
            .await?;
        Ok(Json(changed))
    }

    /// Move a task to a place in a column (the column is renumbered). Dropping a task that
    /// tracks an error issue in Done resolves the issue; taking it out of Done reopens it.
    #[oai(
        path = "/:org_id/projects/:project_id/tasks/:task_id/place",
        method = "put",
        operation_id = "place_task"
    )]
    async fn place(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        task_id: Path<Uuid>,
        body: Json<PlaceIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<TaskOut>> {
        scope.entitlements.require(Feature::TaskBoard)?;
        let (org, project) = (scope.org(), scope.project_id());
        let by = scope.access.user_id;
        let issue_scope = scope.project.clone();
        let timezone = scope.project.timezone.clone();
        let now = state.clock.now();
        let public_url = state.public_url.clone().unwrap_or_default();
        let placed = scope
            .run(async |conn| {
                let columns = tasks::lock_columns(conn, org, project).await?;
                let task = tasks::find(conn, org, project, *task_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("task"))?;
                let to = column_in(&columns, body.column_id)?;
                let from_done = column_in(&columns, task.column_id)?.is_done();
                let before = body.before_task_id.filter(|id| *id != task.task_id);
                if !tasks::place(conn, org, task.task_id, to.column_id, before).await? {
                    return Err(ApiError::invalid(
                        ProblemKind::InvalidValue,
                        "`before_task_id` names no task of that column; nothing was moved",
                    ));
                }
                if task.column_id != to.column_id {
                    let changes = Changes::default()
                        .set("project_id", json!(project), json!(project))
                        .set("title", json!(task.title), json!(task.title))
                        .set("column_id", json!(task.column_id), json!(to.column_id));
                    audit::record(
                        conn,
                        org,
                        Entry::new(Action::TaskMoved, task.task_id).with(changes),
                    )
                    .await?;
                }
                if let Some(issue) = task.issue_id {
                    let status = if to.is_done() && !from_done {
                        Some(error_issues::NewStatus::Resolved)
                    } else if from_done && !to.is_done() {
                        Some(error_issues::NewStatus::Unresolved)
                    } else {
                        None
                    };
                    if let Some(status) = status {
                        crate::routes::issues::change_status(
                            conn,
                            (org, &issue_scope),
                            issue,
                            &status,
                            (by, now, &public_url),
                        )
                        .await?;
                    }
                }
                let task = tasks::find(conn, org, project, *task_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("task"))?;
                one_task(conn, (org, project), &timezone, task, now).await
            })
            .await?;
        Ok(Json(placed))
    }

    /// Delete a task (its error issue stays as it is).
    #[oai(
        path = "/:org_id/projects/:project_id/tasks/:task_id",
        method = "delete",
        operation_id = "delete_task"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        task_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let (org, project) = (scope.org(), scope.project_id());
        scope
            .run(async |conn| {
                tasks::lock_columns(conn, org, project).await?;
                let task = tasks::find(conn, org, project, *task_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("task"))?;
                tasks::delete(conn, org, task.task_id).await?;
                let entry = Entry::new(Action::TaskDeleted, task.task_id)
                    .with(Changes::deleted(audited(project, &task)));
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Add a custom column (before Done).
    #[oai(
        path = "/:org_id/projects/:project_id/task-columns",
        method = "post",
        operation_id = "create_task_column"
    )]
    async fn add_column(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<ColumnIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<ColumnOut>> {
        scope.entitlements.require(Feature::TaskBoard)?;
        let name = column_name(&body.name)?;
        let (org, project) = (scope.org(), scope.project_id());
        let made = scope
            .run(async |conn| {
                let columns = tasks::lock_columns(conn, org, project).await?;
                if columns.len() as i64 >= tasks::MAX_COLUMNS {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        format!(
                            "a board has at most {} columns: delete one first",
                            tasks::MAX_COLUMNS
                        ),
                    ));
                }
                let column = tasks::add_column(conn, org, project, &name, &columns).await?;
                let entry = Entry::new(Action::TaskColumnCreated, column.column_id).with(
                    Changes::created(json!({ "project_id": project, "name": column.name })),
                );
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(ColumnOut {
                    id: column.column_id,
                    name: column.name,
                    role: column.role,
                    tasks: Vec::new(),
                })
            })
            .await?;
        Ok(Created::Created(Json(made)))
    }

    /// Rename a column.
    #[oai(
        path = "/:org_id/projects/:project_id/task-columns/:column_id",
        method = "patch",
        operation_id = "rename_task_column"
    )]
    async fn rename_column(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        column_id: Path<Uuid>,
        body: Json<ColumnIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        scope.entitlements.require(Feature::TaskBoard)?;
        let name = column_name(&body.name)?;
        let (org, project) = (scope.org(), scope.project_id());
        scope
            .run(async |conn| {
                let columns = tasks::lock_columns(conn, org, project).await?;
                let column = column_in(&columns, *column_id)?;
                tasks::rename_column(conn, org, column.column_id, &name).await?;
                let entry = Entry::new(Action::TaskColumnUpdated, column.column_id).with(
                    Changes::default()
                        .set("project_id", json!(project), json!(project))
                        .set("name", json!(column.name), json!(name)),
                );
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Delete a custom column; its tasks move to the end of To do.
    #[oai(
        path = "/:org_id/projects/:project_id/task-columns/:column_id",
        method = "delete",
        operation_id = "delete_task_column"
    )]
    async fn delete_column(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        column_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let (org, project) = (scope.org(), scope.project_id());
        scope
            .run(async |conn| {
                let columns = tasks::lock_columns(conn, org, project).await?;
                let column = column_in(&columns, *column_id)?;
                if column.role != tasks::Role::Custom.as_str() {
                    return Err(ApiError::conflict(
                        ProblemKind::Conflict,
                        "To do, In progress and Done stay on every board; only added columns are deleted",
                    ));
                }
                let todo = column_with(&columns, tasks::Role::Todo)?.column_id;
                tasks::delete_column(conn, org, column.column_id, todo).await?;
                let entry = Entry::new(Action::TaskColumnDeleted, column.column_id).with(
                    Changes::deleted(json!({ "project_id": project, "name": column.name })),
                );
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }
}

/// A column's name, trimmed and checked.
fn column_name(text: &str) -> ApiResult<String> {
    trimmed(text, (1, 40), "a column's name is 1 to 40 characters")
}
