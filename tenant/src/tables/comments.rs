//! `comment_threads` and `comments`: a team's discussion about one thing of a project (a
//! dashboard, a widget, an error issue, a funnel, an annotation).
//!
//! A thread is made by its first comment and resolved or reopened as a whole. A comment's
//! author is shown while they are a member of the organization; one who left is shown as a
//! former member, never by address.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{comment_threads, comments, memberships, users};
use crate::{OrgId, ProjectId, UserId};

/// Most comments one thread answers.
pub const MAX_PER_THREAD: i64 = 500;

/// What a thread is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A custom dashboard.
    Dashboard,
    /// A widget of a custom dashboard (`<dashboard id>/<widget id>`).
    Widget,
    /// An error issue.
    Issue,
    /// A funnel.
    Funnel,
    /// An annotation.
    Annotation,
}

impl TargetKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dashboard => "dashboard",
            Self::Widget => "widget",
            Self::Issue => "issue",
            Self::Funnel => "funnel",
            Self::Annotation => "annotation",
        }
    }
}

/// A thread.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = comment_threads)]
pub struct Thread {
    /// Id.
    pub thread_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// What it is about.
    pub target_kind: String,
    /// Which one.
    pub target_id: String,
    /// Resolved at.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Resolved by.
    pub resolved_by: Option<Uuid>,
}

/// A comment with its author as members see them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Comment {
    /// Id.
    pub comment_id: Uuid,
    /// Thread.
    pub thread_id: Uuid,
    /// Author (`None`: their account is gone).
    pub author_id: Option<Uuid>,
    /// The author's address while they are a member (`None`: a former member).
    pub author_email: Option<String>,
    /// Markdown.
    pub body: String,
    /// Written at.
    pub created_at: DateTime<Utc>,
    /// Last edited at.
    pub edited_at: Option<DateTime<Utc>>,
}

/// The thread about a target, if it has one.
pub async fn thread(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    (kind, target): (TargetKind, &str),
) -> QueryResult<Option<Thread>> {
    comment_threads::table
        .filter(comment_threads::org_id.eq(org))
        .filter(comment_threads::project_id.eq(project))
        .filter(comment_threads::target_kind.eq(kind.as_str()))
        .filter(comment_threads::target_id.eq(target))
        .select(Thread::as_select())
        .first(conn)
        .await
        .optional()
}

/// A thread of the project by id.
pub async fn find_thread(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    thread_id: Uuid,
) -> QueryResult<Option<Thread>> {
    comment_threads::table
        .find((org, thread_id))
        .filter(comment_threads::project_id.eq(project))
        .select(Thread::as_select())
        .first(conn)
        .await
        .optional()
}

/// The thread about a target, made if it has none.
pub async fn thread_for(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    target: (TargetKind, &str),
) -> QueryResult<Thread> {
    diesel::insert_into(comment_threads::table)
        .values((
            comment_threads::org_id.eq(org),
            comment_threads::thread_id.eq(Uuid::now_v7()),
            comment_threads::project_id.eq(project),
            comment_threads::target_kind.eq(target.0.as_str()),
            comment_threads::target_id.eq(target.1),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    thread(conn, org, project, target)
        .await?
        .ok_or(diesel::result::Error::NotFound)
}

/// The members who commented on a target (its thread's authors who are still members).
pub async fn participants(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    target: (TargetKind, &str),
) -> QueryResult<Vec<Uuid>> {
    let Some(found) = thread(conn, org, project, target).await? else {
        return Ok(Vec::new());
    };
    authors(conn, org, found.thread_id).await
}

/// The thread's authors who are still members, each once.
pub async fn authors(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    thread_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    comments::table
        .inner_join(
            memberships::table.on(memberships::org_id
                .eq(comments::org_id)
                .and(comments::author_id.eq(memberships::user_id.nullable()))),
        )
        .filter(comments::org_id.eq(org))
        .filter(comments::thread_id.eq(thread_id))
        .select(memberships::user_id)
        .distinct()
        .load(conn)
        .await
}

/// The thread's comments, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    thread_id: Uuid,
) -> QueryResult<Vec<Comment>> {
    comments::table
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(comments::org_id)
                .and(comments::author_id.eq(memberships::user_id.nullable()))),
        )
        .left_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(comments::org_id.eq(org))
        .filter(comments::thread_id.eq(thread_id))
        .select((
            comments::comment_id,
            comments::thread_id,
            comments::author_id,
            users::email.nullable(),
            comments::body,
            comments::created_at,
            comments::edited_at,
        ))
        .order((comments::created_at, comments::comment_id))
        .limit(MAX_PER_THREAD)
        .load(conn)
        .await
}

/// Adds a comment to a thread; its id.
pub async fn add(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    thread_id: Uuid,
    author: Option<UserId>,
    body: &str,
) -> QueryResult<Uuid> {
    diesel::insert_into(comments::table)
        .values((
            comments::org_id.eq(org),
            comments::comment_id.eq(Uuid::now_v7()),
            comments::thread_id.eq(thread_id),
            comments::author_id.eq(author.map(UserId::uuid)),
            comments::body.eq(body),
        ))
        .returning(comments::comment_id)
        .get_result(conn)
        .await
}

/// A comment's thread and author (to check who may change it).
pub async fn owner_of(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    comment_id: Uuid,
) -> QueryResult<Option<(Uuid, Option<Uuid>, String)>> {
    comments::table
        .find((org, comment_id))
        .select((comments::thread_id, comments::author_id, comments::body))
        .first(conn)
        .await
        .optional()
}

/// Replaces a comment's text, marking it edited.
pub async fn edit(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    comment_id: Uuid,
    body: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(comments::table.find((org, comment_id)))
        .set((comments::body.eq(body), comments::edited_at.eq(now)))
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}

/// Deletes a comment; whether it was there.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    comment_id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(comments::table.find((org, comment_id)))
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}

/// Resolves (`Some(by, at)`) or reopens (`None`) a thread.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    thread_id: Uuid,
    resolved: Option<(Option<UserId>, DateTime<Utc>)>,
) -> QueryResult<bool> {
    diesel::update(comment_threads::table.find((org, thread_id)))
        .set((
            comment_threads::resolved_at.eq(resolved.map(|(_, at)| at)),
            comment_threads::resolved_by.eq(resolved.and_then(|(by, _)| by.map(UserId::uuid))),
        ))
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}

/// Deletes the threads about a target that is going away (a dashboard's also takes its
/// widgets' threads), with their comments; how many threads went.
pub async fn forget(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    (kind, target): (TargetKind, &str),
) -> QueryResult<usize> {
    let mut query = diesel::delete(comment_threads::table)
        .filter(comment_threads::org_id.eq(org))
        .filter(comment_threads::project_id.eq(project))
        .into_boxed();
    query = if kind == TargetKind::Dashboard {
        query.filter(
            comment_threads::target_kind
                .eq(TargetKind::Dashboard.as_str())
                .and(comment_threads::target_id.eq(target))
                .or(comment_threads::target_kind
                    .eq(TargetKind::Widget.as_str())
                    .and(comment_threads::target_id.like(format!("{target}/%")))),
        )
    } else {
        query
            .filter(comment_threads::target_kind.eq(kind.as_str()))
            .filter(comment_threads::target_id.eq(target))
    };
    query.execute(conn).await
}
