//! A member's notifications in an organization: their inbox (unread count, mark read), their
//! preferences per kind, and the members a comment can `@mention`.
//!
//! Everything here is the signed-in member's own: another member's inbox cannot be named, and an
//! API key, which is nobody, gets 403. Reading and marking are not audited: they change nothing
//! anyone else sees.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use tenant::UserId;
use tenant::tables::notifications::{self, Notification, Preference, PreferenceKind};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::scope::{OrgScope, Viewer};
use crate::state::AppState;

/// Most members the mention autocompletion answers.
const MENTIONABLE: i64 = 8;
/// Most ids one mark-read call names.
const MAX_MARKED: usize = 500;

/// A notification in the inbox.
#[derive(Debug, Object)]
pub struct NotificationOut {
    /// Id.
    pub id: Uuid,
    /// Project it happened in.
    pub project_id: Uuid,
    /// `mention`, `reply`, `assignment`, `due_soon` or `issue_state`.
    pub kind: String,
    /// Who did it, while they are a member (`null`: Beacon, or a former member).
    pub actor_email: Option<String>,
    /// What it is about: `issue`, `task`, `dashboard`, `widget`, `funnel` or `annotation`.
    pub target_kind: String,
    /// Which one (a widget is `<dashboard id>/<widget id>`).
    pub target_id: String,
    /// One line: a comment's start, a task's title, an issue's new state.
    pub summary: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Read at (`null`: unread).
    pub read_at: Option<DateTime<Utc>>,
}

impl From<Notification> for NotificationOut {
    fn from(n: Notification) -> Self {
        Self {
            id: n.notification_id,
            project_id: n.project_id,
            kind: n.kind,
            actor_email: n.actor_email,
            target_kind: n.target_kind,
            target_id: n.target_id,
            summary: n.summary,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// The unread count.
#[derive(Debug, Object)]
pub struct UnreadOut {
    /// Unread notifications in the inbox.
    pub unread: i64,
}

/// What to mark read.
#[derive(Debug, Object)]
pub struct MarkReadIn {
    /// These notifications (up to 500); omitted: every notification in the inbox.
    pub ids: Option<Vec<Uuid>>,
}

/// A kind of notification a member sets preferences for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum PreferenceKindDto {
    /// Someone `@mentions` you.
    Mention,
    /// Someone comments in a thread you took part in.
    Reply,
    /// A task is assigned to you, or is due soon.
    Assignment,
    /// An error issue you follow (you commented on it, or its task is yours) changes state.
    IssueState,
}

impl From<PreferenceKindDto> for PreferenceKind {
    fn from(kind: PreferenceKindDto) -> Self {
        match kind {
            PreferenceKindDto::Mention => Self::Mentions,
            PreferenceKindDto::Reply => Self::Replies,
            PreferenceKindDto::Assignment => Self::Assignments,
            PreferenceKindDto::IssueState => Self::IssueStates,
        }
    }
}

impl From<PreferenceKind> for PreferenceKindDto {
    fn from(kind: PreferenceKind) -> Self {
        match kind {
            PreferenceKind::Mentions => Self::Mention,
            PreferenceKind::Replies => Self::Reply,
            PreferenceKind::Assignments => Self::Assignment,
            PreferenceKind::IssueStates => Self::IssueState,
        }
    }
}

/// A preference for one kind.
#[derive(Debug, Object)]
pub struct PreferenceDto {
    /// Which kind.
    pub kind: PreferenceKindDto,
    /// Shown in the in-app inbox.
    pub inbox: bool,
    /// E-mailed (several within a few minutes come in one e-mail).
    pub email: bool,
}

impl From<Preference> for PreferenceDto {
    fn from(p: Preference) -> Self {
        Self {
            kind: p.kind.into(),
            inbox: p.inbox,
            email: p.email,
        }
    }
}

/// Preferences to store (kinds not named keep theirs).
#[derive(Debug, Object)]
pub struct PreferencesIn {
    /// One entry per kind to change.
    #[oai(validator(max_items = 4))]
    pub preferences: Vec<PreferenceDto>,
}

/// A member a comment can mention.
#[derive(Debug, Object)]
pub struct MentionableOut {
    /// User id.
    pub user_id: Uuid,
    /// Address (write `@<address>` to mention them).
    pub email: String,
}

/// The signed-in member, or 403 for an API key.
fn member_of<R: crate::scope::Requirement>(scope: &OrgScope<R>) -> ApiResult<UserId> {
    scope.access.user_id.ok_or_else(|| {
        ApiError::forbidden("notifications belong to a signed-in member; an API key has none")
    })
}

/// Notification operations.
#[derive(Default)]
pub struct NotificationsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Organizations")]
impl NotificationsApi {
    /// The signed-in member's inbox, newest first.
    #[oai(
        path = "/:org_id/notifications",
        method = "get",
        operation_id = "list_notifications"
    )]
    async fn inbox(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        /// Only unread notifications.
        unread: Query<Option<bool>>,
        /// Only notifications older than this one (the last of the previous page).
        before: Query<Option<Uuid>>,
        /// At most this many (1 to 100, default 50).
        limit: Query<Option<i64>>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<Vec<NotificationOut>>> {
        let user = member_of(&scope)?;
        let org = scope.org();
        let page = (unread.unwrap_or(false), *before);
        let limit = limit.unwrap_or(50).clamp(1, notifications::MAX_LISTED);
        let found = scope
            .run(async |conn| {
                Ok::<_, ApiError>(notifications::inbox(conn, org, user, page, limit).await?)
            })
            .await?;
        Ok(Json(found.into_iter().map(Into::into).collect()))
    }

    /// How many notifications in the inbox are unread.
    #[oai(
        path = "/:org_id/notifications/unread",
        method = "get",
        operation_id = "count_unread_notifications"
    )]
    async fn unread(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<UnreadOut>> {
        let user = member_of(&scope)?;
        let org = scope.org();
        let unread = scope
            .run(async |conn| {
                Ok::<_, ApiError>(notifications::unread_count(conn, org, user).await?)
            })
            .await?;
        Ok(Json(UnreadOut { unread }))
    }

    /// Mark notifications read (some, or all); answers the unread count after.
    #[oai(
        path = "/:org_id/notifications/read",
        method = "post",
        operation_id = "mark_notifications_read"
    )]
    async fn mark_read(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<MarkReadIn>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<UnreadOut>> {
        let user = member_of(&scope)?;
        if body.ids.as_ref().is_some_and(|ids| ids.len() > MAX_MARKED) {
            return Err(ApiError::invalid(
                tenant::problem::ProblemKind::InvalidValue,
                format!("mark at most {MAX_MARKED} notifications at once, or omit `ids` for all"),
            ));
        }
        let (org, now) = (scope.org(), state.clock.now());
        let unread = scope
            .run(async |conn| {
                notifications::mark_read(conn, org, user, body.ids.as_deref(), now).await?;
                Ok::<_, ApiError>(notifications::unread_count(conn, org, user).await?)
            })
            .await?;
        Ok(Json(UnreadOut { unread }))
    }

    /// The signed-in member's notification preferences, one per kind.
    #[oai(
        path = "/:org_id/notification-preferences",
        method = "get",
        operation_id = "get_notification_preferences"
    )]
    async fn preferences(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<Vec<PreferenceDto>>> {
        let user = member_of(&scope)?;
        let org = scope.org();
        let found = scope
            .run(async |conn| Ok::<_, ApiError>(notifications::preferences(conn, org, user).await?))
            .await?;
        Ok(Json(found.into_iter().map(Into::into).collect()))
    }

    /// Change notification preferences; answers all of them.
    #[oai(
        path = "/:org_id/notification-preferences",
        method = "put",
        operation_id = "set_notification_preferences"
    )]
    async fn set_preferences(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<PreferencesIn>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<Vec<PreferenceDto>>> {
        let user = member_of(&scope)?;
        let (org, now) = (scope.org(), state.clock.now());
        let found = scope
            .run(async |conn| {
                for p in &body.preferences {
                    let preference = Preference {
                        kind: p.kind.into(),
                        inbox: p.inbox,
                        email: p.email,
                    };
                    notifications::set_preference(conn, org, user, preference, now).await?;
                }
                Ok::<_, ApiError>(notifications::preferences(conn, org, user).await?)
            })
            .await?;
        Ok(Json(found.into_iter().map(Into::into).collect()))
    }

    /// Members whose address starts with `q` (or holds it), for `@mention` autocompletion:
    /// current members only.
    #[oai(
        path = "/:org_id/mentionable",
        method = "get",
        operation_id = "list_mentionable_members"
    )]
    async fn mentionable(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        /// What was typed after `@` (up to 100 characters).
        #[oai(validator(max_length = 100))]
        q: Query<Option<String>>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<Vec<MentionableOut>>> {
        member_of(&scope)?;
        let org = scope.org();
        let found = scope
            .run(async |conn| {
                let typed = q.as_deref().unwrap_or_default();
                Ok::<_, ApiError>(notifications::mentionable(conn, org, typed, MENTIONABLE).await?)
            })
            .await?;
        Ok(Json(
            found
                .into_iter()
                .map(|(user_id, email)| MentionableOut { user_id, email })
                .collect(),
        ))
    }
}
