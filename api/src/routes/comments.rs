//! Comment threads on a project's dashboards, widgets, error issues, funnels and annotations:
//! members comment in Markdown, edit and delete their own ("edited" shown), admins delete any,
//! and anyone who may comment resolves or reopens a thread. Viewers read.
//!
//! The audit records name the thread and its target, not the text: a comment is the team's
//! conversation, not configuration.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use serde_json::{Value, json};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::tables::comments::{self, Comment, TargetKind, Thread};
use tenant::tables::notifications::{self, Kind, Notice};
use tenant::tables::{annotations, dashboards, error_issues, funnels};
use tenant::{OrgId, ProjectId, UserId};
use uuid::Uuid;
use worker::jobs::send_notifications::deliver;

use crate::auth::OrgAccess;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::trimmed;
use crate::scope::{Member, ProjectScope, Viewer};
use crate::state::AppState;

/// Longest comment, in characters.
const MAX_BODY: usize = 10_000;

/// What a thread is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TargetKindDto {
    /// A custom dashboard (its id).
    Dashboard,
    /// A widget (`<dashboard id>/<widget id>`).
    Widget,
    /// An error issue (its id).
    Issue,
    /// A funnel (its id).
    Funnel,
    /// An annotation (its id).
    Annotation,
}

impl From<TargetKindDto> for TargetKind {
    fn from(kind: TargetKindDto) -> Self {
        match kind {
            TargetKindDto::Dashboard => Self::Dashboard,
            TargetKindDto::Widget => Self::Widget,
            TargetKindDto::Issue => Self::Issue,
            TargetKindDto::Funnel => Self::Funnel,
            TargetKindDto::Annotation => Self::Annotation,
        }
    }
}

/// A new comment.
#[derive(Debug, Object)]
pub struct CommentIn {
    /// What the thread is about.
    pub target_kind: TargetKindDto,
    /// Which one.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub target_id: String,
    /// Markdown, 1 to 10,000 characters.
    #[oai(validator(max_length = 40000))]
    pub body: String,
}

/// A comment's new text.
#[derive(Debug, Object)]
pub struct CommentEdit {
    /// Markdown, 1 to 10,000 characters.
    #[oai(validator(max_length = 40000))]
    pub body: String,
}

/// Resolving or reopening a thread.
#[derive(Debug, Object)]
pub struct ResolutionIn {
    /// Resolved (`true`) or open (`false`).
    pub resolved: bool,
}

/// A comment.
#[derive(Debug, Object)]
pub struct CommentOut {
    /// Id.
    pub id: Uuid,
    /// The author (`null`: their account is gone).
    pub author_id: Option<Uuid>,
    /// The author's address while they are a member (`null`: a former member).
    pub author_email: Option<String>,
    /// Markdown (render it as text: it may hold anything).
    pub body: String,
    /// Written at.
    pub created_at: DateTime<Utc>,
    /// Last edited at (`null`: never).
    pub edited_at: Option<DateTime<Utc>>,
    /// Whether the caller may edit it (its author).
    pub editable: bool,
    /// Whether the caller may delete it (its author, or an admin).
    pub deletable: bool,
}

/// The thread about a target.
#[derive(Debug, Object)]
pub struct ThreadOut {
    /// Id (`null`: nobody has commented yet).
    pub thread_id: Option<Uuid>,
    /// Resolved at (`null`: open).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Comments, oldest first.
    pub comments: Vec<CommentOut>,
}

/// A comment as `access` sees it: its author edits it; its author or an admin deletes it.
fn comment_out(access: &OrgAccess, comment: Comment) -> CommentOut {
    CommentOut {
        editable: access.made(comment.author_id),
        deletable: access.made(comment.author_id) || access.is_admin(),
        id: comment.comment_id,
        author_id: comment.author_id,
        author_email: comment.author_email,
        body: comment.body,
        created_at: comment.created_at,
        edited_at: comment.edited_at,
    }
}

/// A comment's text, trimmed and checked.
fn body_of(text: &str) -> ApiResult<String> {
    trimmed(
        text,
        (1, MAX_BODY),
        &format!("a comment is 1 to {MAX_BODY} characters"),
    )
}

/// Refuses a target the project does not have (404, like any missing resource).
async fn check_target(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    kind: TargetKind,
    id: &str,
) -> ApiResult<()> {
    let missing = || ApiError::not_found("comment target");
    let uuid = |text: &str| Uuid::try_parse(text).map_err(|_| missing());
    let found = match kind {
        TargetKind::Dashboard => dashboards::find(conn, org, project, uuid(id)?)
            .await?
            .is_some(),
        TargetKind::Widget => {
            let (board, widget) = id.split_once('/').ok_or_else(missing)?;
            dashboards::find(conn, org, project, uuid(board)?)
                .await?
                .is_some_and(|board| {
                    tenant::dashboards::widgets_of(&board.widgets)
                        .iter()
                        .any(|w| w.id == widget)
                })
        }
        TargetKind::Issue => error_issues::find(conn, org, project, uuid(id)?)
            .await?
            .is_some(),
        TargetKind::Funnel => !funnels::list(conn, org, project, Some(uuid(id)?))
            .await?
            .is_empty(),
        TargetKind::Annotation => annotations::find(conn, org, project, uuid(id)?)
            .await?
            .is_some(),
    };
    if found { Ok(()) } else { Err(missing()) }
}

/// What the audit records say of a comment: its thread and target, never its text.
fn audited(thread: &Thread) -> Value {
    json!({
        "thread_id": thread.thread_id,
        "target_kind": thread.target_kind,
        "target_id": thread.target_id,
    })
}

async fn thread_out(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrgId,
    access: &OrgAccess,
    thread: Option<Thread>,
) -> ApiResult<ThreadOut> {
    let Some(thread) = thread else {
        return Ok(ThreadOut {
            thread_id: None,
            resolved_at: None,
            comments: vec![],
        });
    };
    let found = comments::list(conn, org, thread.thread_id).await?;
    Ok(ThreadOut {
        thread_id: Some(thread.thread_id),
        resolved_at: thread.resolved_at,
        comments: found.into_iter().map(|c| comment_out(access, c)).collect(),
    })
}

/// Comment operations.
#[derive(Default)]
pub struct CommentsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Stats")]
impl CommentsApi {
    /// The thread about a target, with its comments (an empty one when nobody has commented).
    #[oai(
        path = "/:org_id/projects/:project_id/comments",
        method = "get",
        operation_id = "get_comment_thread"
    )]
    async fn thread(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        target_kind: Query<TargetKindDto>,
        target_id: Query<String>,
        scope: ProjectScope<Viewer>,
    ) -> ApiResult<Json<ThreadOut>> {
        let (org, project, access) = (scope.org(), scope.project_id(), scope.access.clone());
        let kind = TargetKind::from(*target_kind);
        let out = scope
            .run(async |conn| {
                check_target(conn, org, project, kind, &target_id).await?;
                let thread = comments::thread(conn, org, project, (kind, &target_id)).await?;
                thread_out(conn, org, &access, thread).await
            })
            .await?;
        Ok(Json(out))
    }

    /// Comment on a target (its thread is made by the first comment).
    #[oai(
        path = "/:org_id/projects/:project_id/comments",
        method = "post",
        operation_id = "create_comment"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        body: Json<CommentIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Created<CommentOut>> {
        let text = body_of(&body.body)?;
        let (org, project, access) = (scope.org(), scope.project_id(), scope.access.clone());
        let author = scope.access.user_id;
        let kind = TargetKind::from(body.target_kind);
        let now = state.clock.now();
        let made = scope
            .run(async |conn| {
                check_target(conn, org, project, kind, &body.target_id).await?;
                let thread =
                    comments::thread_for(conn, org, project, (kind, &body.target_id)).await?;
                let earlier = comments::authors(conn, org, thread.thread_id).await?;
                let id = comments::add(conn, org, thread.thread_id, author, &text).await?;
                let notices = Notices {
                    project,
                    thread: &thread,
                    author,
                    text: &text,
                    now,
                };
                notices.send(conn, org, "", &earlier).await?;
                let entry =
                    Entry::new(Action::CommentCreated, id).with(Changes::created(audited(&thread)));
                audit::record(conn, org, entry).await?;
                let made = comments::list(conn, org, thread.thread_id)
                    .await?
                    .into_iter()
                    .find(|c| c.comment_id == id)
                    .ok_or_else(|| ApiError::not_found("comment"))?;
                Ok::<_, ApiError>(comment_out(&access, made))
            })
            .await?;
        Ok(Created::Created(Json(made)))
    }

    /// Edit one's own comment (it then shows as edited).
    #[oai(
        path = "/:org_id/projects/:project_id/comments/:comment_id",
        method = "patch",
        operation_id = "edit_comment"
    )]
    async fn edit(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        comment_id: Path<Uuid>,
        body: Json<CommentEdit>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<CommentOut>> {
        let text = body_of(&body.body)?;
        let (org, project, access) = (scope.org(), scope.project_id(), scope.access.clone());
        let now = state.clock.now();
        let edited = scope
            .run(async |conn| {
                let (thread, author, old) = comment_in(conn, org, project, *comment_id).await?;
                if !access.made(author) {
                    return Err(ApiError::forbidden("only its author edits a comment"));
                }
                comments::edit(conn, org, *comment_id, &text, now).await?;
                let notices = Notices {
                    project,
                    thread: &thread,
                    author: access.user_id,
                    text: &text,
                    now,
                };
                notices.send(conn, org, &old, &[]).await?;
                let entry = Entry::new(Action::CommentEdited, *comment_id)
                    .with(Changes::default().set("edited", json!(null), audited(&thread)));
                audit::record(conn, org, entry).await?;
                comments::list(conn, org, thread.thread_id)
                    .await?
                    .into_iter()
                    .find(|c| c.comment_id == *comment_id)
                    .map(|c| comment_out(&access, c))
                    .ok_or_else(|| ApiError::not_found("comment"))
            })
            .await?;
        Ok(Json(edited))
    }

    /// Delete a comment: its author, or an admin.
    #[oai(
        path = "/:org_id/projects/:project_id/comments/:comment_id",
        method = "delete",
        operation_id = "delete_comment"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        comment_id: Path<Uuid>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<NoContent> {
        let (org, project, access) = (scope.org(), scope.project_id(), scope.access.clone());
        scope
            .run(async |conn| {
                let (thread, author, _) = comment_in(conn, org, project, *comment_id).await?;
                if !(access.made(author) || access.is_admin()) {
                    return Err(ApiError::forbidden(
                        "a comment is deleted by its author or an admin",
                    ));
                }
                comments::delete(conn, org, *comment_id).await?;
                let entry = Entry::new(Action::CommentDeleted, *comment_id)
                    .with(Changes::deleted(audited(&thread)));
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Resolve or reopen a thread.
    #[oai(
        path = "/:org_id/projects/:project_id/comment-threads/:thread_id/resolution",
        method = "put",
        operation_id = "resolve_comment_thread"
    )]
    async fn resolve(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        #[oai(name = "project_id")] _project_id: Path<Uuid>,
        thread_id: Path<Uuid>,
        body: Json<ResolutionIn>,
        scope: ProjectScope<Member>,
    ) -> ApiResult<Json<ThreadOut>> {
        let (org, project, access) = (scope.org(), scope.project_id(), scope.access.clone());
        let by = scope.access.user_id;
        let now = state.clock.now();
        let resolved = body.resolved;
        let out = scope
            .run(async |conn| {
                let thread = comments::find_thread(conn, org, project, *thread_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("comment thread"))?;
                comments::resolve(conn, org, thread.thread_id, resolved.then_some((by, now)))
                    .await?;
                let entry = Entry::new(Action::CommentThreadResolved, thread.thread_id).with(
                    Changes::default().set(
                        "resolved",
                        json!(thread.resolved_at.is_some()),
                        json!(resolved),
                    ),
                );
                audit::record(conn, org, entry).await?;
                let thread = comments::find_thread(conn, org, project, *thread_id).await?;
                thread_out(conn, org, &access, thread).await
            })
            .await?;
        Ok(Json(out))
    }
}

/// What a new or edited comment tells members.
struct Notices<'a> {
    project: ProjectId,
    thread: &'a Thread,
    author: Option<UserId>,
    text: &'a str,
    now: DateTime<Utc>,
}

impl Notices<'_> {
    /// Tells the members `@mentioned` in the text but not in `before` (a mention), and
    /// `earlier` participants who are not mentioned (a reply). Who is a member, who is the
    /// author and what each wants is decided by `notifications::notify`.
    async fn send(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        org: OrgId,
        before: &str,
        earlier: &[Uuid],
    ) -> ApiResult<()> {
        let already = notifications::mentions(before);
        let new: Vec<String> = notifications::mentions(self.text)
            .into_iter()
            .filter(|m| !already.contains(m))
            .collect();
        let mentioned = notifications::members_by_email(conn, org, &new).await?;
        let notice = |kind| Notice {
            project: self.project,
            kind,
            actor: self.author,
            target_kind: self.thread.target_kind.clone(),
            target_id: self.thread.target_id.clone(),
            summary: self.text.to_owned(),
        };
        deliver(conn, org, &notice(Kind::Mention), &mentioned, self.now).await?;
        let replied: Vec<Uuid> = earlier
            .iter()
            .filter(|user| !mentioned.contains(user))
            .copied()
            .collect();
        deliver(conn, org, &notice(Kind::Reply), &replied, self.now).await?;
        Ok(())
    }
}

/// A comment of the project: its thread, author and text (404 when not there).
async fn comment_in(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    comment_id: Uuid,
) -> ApiResult<(Thread, Option<Uuid>, String)> {
    let missing = || ApiError::not_found("comment");
    let (thread_id, author, body) = comments::owner_of(conn, org, comment_id)
        .await?
        .ok_or_else(missing)?;
    let thread = comments::find_thread(conn, org, project, thread_id)
        .await?
        .ok_or_else(missing)?;
    Ok((thread, author, body))
}
