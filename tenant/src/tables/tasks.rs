//! `task_columns` and `tasks`: a project's task board.
//!
//! Every board has a To do, an In progress and a Done column (made when the board is first
//! read) and any custom columns the team adds, placed before Done. A task's place is its column
//! and its position there: [`place`] renumbers the column it lands in, and callers hold the
//! board's lock ([`lock_columns`]) while they move, so concurrent drags serialize.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Array, Date, Integer, Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{task_columns, tasks};
use crate::{OrgId, ProjectId, UserId};

/// Most tasks one board holds.
pub const MAX_TASKS: i64 = 2_000;
/// Most columns one board has.
pub const MAX_COLUMNS: i64 = 12;
/// Where Done sits: after every column added before it.
const DONE_POSITION: i32 = 1_000_000;

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Work not started (new tasks land here).
    Todo,
    /// Work under way.
    InProgress,
    /// Finished work (a task here resolves its error issue).
    Done,
    /// A column the team added.
    Custom,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Todo => "todo",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Custom => "custom",
        }
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = task_columns)]
pub struct Column {
    /// Id.
    pub column_id: Uuid,
    /// Name.
    pub name: String,
    /// [`Role::as_str`].
    pub role: String,
    /// Order on the board.
    pub position: i32,
}

impl Column {
    /// Whether it is the Done column.
    pub fn is_done(&self) -> bool {
        self.role == Role::Done.as_str()
    }
}

/// A task.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = tasks)]
pub struct Task {
    /// Id.
    pub task_id: Uuid,
    /// Its column.
    pub column_id: Uuid,
    /// Order in the column.
    pub position: i32,
    /// Title.
    pub title: String,
    /// Markdown.
    pub description: String,
    /// The member it is assigned to.
    pub assignee_id: Option<Uuid>,
    /// Due date.
    pub due_on: Option<NaiveDate>,
    /// Labels.
    pub labels: Vec<String>,
    /// `none`, `low`, `medium`, `high` or `urgent`.
    pub priority: String,
    /// The error issue it tracks.
    pub issue_id: Option<Uuid>,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// A task's fields as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    /// Title.
    pub title: String,
    /// Markdown.
    pub description: String,
    /// Assignee (a member).
    pub assignee_id: Option<Uuid>,
    /// Due date.
    pub due_on: Option<NaiveDate>,
    /// Labels.
    pub labels: Vec<String>,
    /// Priority.
    pub priority: String,
    /// The error issue it tracks.
    pub issue_id: Option<Uuid>,
}

/// The board's columns, in order, locked for the transaction (made first if the board is new).
///
/// Every write to a board takes this lock first, before any task, issue or audit row, so two
/// writers never wait for each other in opposite orders.
pub async fn lock_columns(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<Vec<Column>> {
    columns(conn, org, project, true).await
}

/// The board's columns, in order, without locking them (made first if the board is new).
pub async fn read_columns(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<Vec<Column>> {
    columns(conn, org, project, false).await
}

async fn columns(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    lock: bool,
) -> QueryResult<Vec<Column>> {
    let defaults = [
        (Role::Todo, "To do", 0),
        (Role::InProgress, "In progress", 1),
        (Role::Done, "Done", DONE_POSITION),
    ];
    for (role, name, position) in defaults {
        diesel::insert_into(task_columns::table)
            .values((
                task_columns::org_id.eq(org),
                task_columns::column_id.eq(Uuid::now_v7()),
                task_columns::project_id.eq(project),
                task_columns::name.eq(name),
                task_columns::role.eq(role.as_str()),
                task_columns::position.eq(position),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    let query = task_columns::table
        .filter(task_columns::org_id.eq(org))
        .filter(task_columns::project_id.eq(project))
        .select(Column::as_select())
        .order((task_columns::position, task_columns::column_id));
    if lock {
        query.for_update().load(conn).await
    } else {
        query.load(conn).await
    }
}

/// The board's tasks, by column then position.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<Vec<Task>> {
    tasks::table
        .filter(tasks::org_id.eq(org))
        .filter(tasks::project_id.eq(project))
        .select(Task::as_select())
        .order((tasks::column_id, tasks::position, tasks::created_at))
        .limit(MAX_TASKS)
        .load(conn)
        .await
}

/// How many tasks the board has.
pub async fn count(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
) -> QueryResult<i64> {
    tasks::table
        .filter(tasks::org_id.eq(org))
        .filter(tasks::project_id.eq(project))
        .count()
        .get_result(conn)
        .await
}

/// A task of the project.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    task_id: Uuid,
) -> QueryResult<Option<Task>> {
    tasks::table
        .find((org, task_id))
        .filter(tasks::project_id.eq(project))
        .select(Task::as_select())
        .first(conn)
        .await
        .optional()
}

/// The task tracking an error issue.
pub async fn of_issue(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    issue_id: Uuid,
) -> QueryResult<Option<Task>> {
    tasks::table
        .filter(tasks::org_id.eq(org))
        .filter(tasks::issue_id.eq(issue_id))
        .select(Task::as_select())
        .first(conn)
        .await
        .optional()
}

/// The position of the last task of `column` (`None`: it is empty).
async fn last_position(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    column: Uuid,
) -> QueryResult<Option<i32>> {
    tasks::table
        .filter(tasks::org_id.eq(org))
        .filter(tasks::column_id.eq(column))
        .select(diesel::dsl::max(tasks::position))
        .first(conn)
        .await
}

/// Saves a new task at the end of `column`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    (org, project): (OrgId, ProjectId),
    column: Uuid,
    fields: &Fields,
    by: Option<UserId>,
) -> QueryResult<Task> {
    let last = last_position(conn, org, column).await?;
    diesel::insert_into(tasks::table)
        .values((
            tasks::org_id.eq(org),
            tasks::task_id.eq(Uuid::now_v7()),
            tasks::project_id.eq(project),
            tasks::column_id.eq(column),
            tasks::position.eq(last.map_or(0, |p| p + 1)),
            tasks::title.eq(&fields.title),
            tasks::description.eq(&fields.description),
            tasks::assignee_id.eq(fields.assignee_id),
            tasks::due_on.eq(fields.due_on),
            tasks::labels.eq(&fields.labels),
            tasks::priority.eq(&fields.priority),
            tasks::issue_id.eq(fields.issue_id),
            tasks::created_by.eq(by.map(UserId::uuid)),
        ))
        .returning(Task::as_returning())
        .get_result(conn)
        .await
}

/// Writes a task's fields (a changed due date or assignee is reminded again).
pub async fn update(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    task_id: Uuid,
    fields: &Fields,
    now: DateTime<Utc>,
) -> QueryResult<Task> {
    diesel::update(tasks::table.find((org, task_id)))
        .set((
            tasks::title.eq(&fields.title),
            tasks::description.eq(&fields.description),
            tasks::assignee_id.eq(fields.assignee_id),
            tasks::due_reminded_on.eq(sql::<Nullable<Date>>(
                "CASE WHEN due_on IS NOT DISTINCT FROM ",
            )
            .bind::<Nullable<Date>, _>(fields.due_on)
            .sql(" AND assignee_id IS NOT DISTINCT FROM ")
            .bind::<Nullable<SqlUuid>, _>(fields.assignee_id)
            .sql(" THEN due_reminded_on END")),
            tasks::due_on.eq(fields.due_on),
            tasks::labels.eq(&fields.labels),
            tasks::priority.eq(&fields.priority),
            tasks::updated_at.eq(now),
        ))
        .returning(Task::as_returning())
        .get_result(conn)
        .await
}

/// Puts a task into `column` just before the task `before` (`None`: last) and renumbers that
/// column; answers `false`, changing nothing, when `before` is not in that column. Naming a
/// neighbour rather than an index keeps a drop right on a board showing only some tasks
/// (filtered by assignee or label). Callers hold [`lock_columns`].
pub async fn place(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    task_id: Uuid,
    column: Uuid,
    before: Option<Uuid>,
) -> QueryResult<bool> {
    let mut order: Vec<Uuid> = tasks::table
        .filter(tasks::org_id.eq(org))
        .filter(tasks::column_id.eq(column))
        .filter(tasks::task_id.ne(task_id))
        .select(tasks::task_id)
        .order((tasks::position, tasks::created_at))
        .load(conn)
        .await?;
    let index = match before {
        None => order.len(),
        Some(before) => match order.iter().position(|id| *id == before) {
            Some(index) => index,
            None => return Ok(false),
        },
    };
    order.insert(index, task_id);
    diesel::sql_query(
        "UPDATE tasks SET column_id = $2, position = placed.ord::integer - 1, \
                          updated_at = CASE WHEN tasks.task_id = $4 THEN now() ELSE updated_at END \
         FROM unnest($3::uuid[]) WITH ORDINALITY AS placed(id, ord) \
         WHERE tasks.org_id = $1 AND tasks.task_id = placed.id",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(column)
    .bind::<Array<SqlUuid>, _>(&order)
    .bind::<SqlUuid, _>(task_id)
    .execute(conn)
    .await
    .map(|_| true)
}

/// Deletes a task.
pub async fn delete(conn: &mut AsyncPgConnection, org: OrgId, task_id: Uuid) -> QueryResult<bool> {
    diesel::delete(tasks::table.find((org, task_id)))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}

/// Adds a custom column before Done.
pub async fn add_column(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    name: &str,
    columns: &[Column],
) -> QueryResult<Column> {
    let position = columns
        .iter()
        .filter(|c| !c.is_done())
        .map(|c| c.position)
        .max()
        .map_or(0, |p| p + 1);
    diesel::insert_into(task_columns::table)
        .values((
            task_columns::org_id.eq(org),
            task_columns::column_id.eq(Uuid::now_v7()),
            task_columns::project_id.eq(project),
            task_columns::name.eq(name),
            task_columns::role.eq(Role::Custom.as_str()),
            task_columns::position.eq(position),
        ))
        .returning(Column::as_returning())
        .get_result(conn)
        .await
}

/// Renames a column.
pub async fn rename_column(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    column: Uuid,
    name: &str,
) -> QueryResult<()> {
    diesel::update(task_columns::table.find((org, column)))
        .set(task_columns::name.eq(name))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes a custom column, its tasks first moved to the end of `to`, in their order.
pub async fn delete_column(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    column: Uuid,
    to: Uuid,
) -> QueryResult<()> {
    let last = last_position(conn, org, to).await?;
    diesel::sql_query(
        "UPDATE tasks SET column_id = $3, position = $4 + position + 1 \
         WHERE org_id = $1 AND column_id = $2",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(column)
    .bind::<SqlUuid, _>(to)
    .bind::<Integer, _>(last.unwrap_or(-1))
    .execute(conn)
    .await?;
    diesel::delete(task_columns::table.find((org, column)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Assigned tasks not in Done, due on or before `by`, whose assignee was not reminded of that
/// date yet.
pub async fn due_unreminded(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    by: NaiveDate,
) -> QueryResult<Vec<Task>> {
    tasks::table
        .inner_join(
            task_columns::table.on(task_columns::org_id
                .eq(tasks::org_id)
                .and(task_columns::column_id.eq(tasks::column_id))),
        )
        .filter(tasks::org_id.eq(org))
        .filter(tasks::project_id.eq(project))
        .filter(tasks::assignee_id.is_not_null())
        .filter(tasks::due_on.le(by))
        .filter(tasks::due_reminded_on.is_distinct_from(tasks::due_on))
        .filter(task_columns::role.ne(Role::Done.as_str()))
        .select(Task::as_select())
        .load(conn)
        .await
}

/// Records that a task's assignee was reminded of its due date.
pub async fn reminded(conn: &mut AsyncPgConnection, org: OrgId, task: &Task) -> QueryResult<()> {
    diesel::update(tasks::table.find((org, task.task_id)))
        .set(tasks::due_reminded_on.eq(task.due_on))
        .execute(conn)
        .await
        .map(|_| ())
}

/// As `beacon_sweeper`: the organizations with an assigned task due by tomorrow (in any time
/// zone) that was not reminded of.
pub async fn orgs_with_due(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
) -> QueryResult<Vec<Uuid>> {
    tasks::table
        .filter(tasks::assignee_id.is_not_null())
        .filter(tasks::due_on.le(today + chrono::Days::new(2)))
        .filter(tasks::due_reminded_on.is_distinct_from(tasks::due_on))
        .select(tasks::org_id)
        .distinct()
        .load(conn)
        .await
}
