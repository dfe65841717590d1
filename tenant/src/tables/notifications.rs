//! `notifications` and `notification_preferences`: what a member is told about, in their in-app
//! inbox and in a batched e-mail, as their preferences per kind say.
//!
//! Recipients are filtered here, in the query that stores the notifications: only current
//! members are notified (the rows hang off the membership, so a member who leaves takes their
//! inbox with them), never the person who caused it, and only through the channels their
//! preference for the kind has on.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{memberships, notification_preferences, notifications, users};
use crate::{OrgId, ProjectId, UserId};

/// Most notifications one inbox page answers.
pub const MAX_LISTED: i64 = 100;
/// Longest summary kept, in characters.
pub const SUMMARY_CHARS: usize = 200;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Someone `@mentioned` the member in a comment.
    Mention,
    /// Someone commented in a thread the member took part in.
    Reply,
    /// A task was assigned to the member.
    Assignment,
    /// A task assigned to the member is due within a day.
    DueSoon,
    /// An error issue the member follows changed state.
    IssueState,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [
        Kind::Mention,
        Kind::Reply,
        Kind::Assignment,
        Kind::DueSoon,
        Kind::IssueState,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::Reply => "reply",
            Self::Assignment => "assignment",
            Self::DueSoon => "due_soon",
            Self::IssueState => "issue_state",
        }
    }

    /// The kind of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The preference that governs it (a due-soon reminder is an assignment's).
    pub fn preference(self) -> PreferenceKind {
        match self {
            Self::Mention => PreferenceKind::Mentions,
            Self::Reply => PreferenceKind::Replies,
            Self::Assignment | Self::DueSoon => PreferenceKind::Assignments,
            Self::IssueState => PreferenceKind::IssueStates,
        }
    }
}

/// The kinds a member sets preferences for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferenceKind {
    /// Mentions.
    Mentions,
    /// Replies in threads the member took part in.
    Replies,
    /// Tasks assigned to the member, and their due-soon reminders.
    Assignments,
    /// State changes of issues the member follows.
    IssueStates,
}

impl PreferenceKind {
    /// Every kind, in the order preferences are shown.
    pub const ALL: [PreferenceKind; 4] = [
        PreferenceKind::Mentions,
        PreferenceKind::Replies,
        PreferenceKind::Assignments,
        PreferenceKind::IssueStates,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mentions => "mention",
            Self::Replies => "reply",
            Self::Assignments => "assignment",
            Self::IssueStates => "issue_state",
        }
    }

    /// The preference of a member who never set one: everything in the inbox, and e-mail for
    /// all but issue state changes (those can be many).
    pub fn default_preference(self) -> Preference {
        Preference {
            kind: self,
            inbox: true,
            email: self != Self::IssueStates,
        }
    }
}

/// A member's preference for one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preference {
    /// Which kind.
    pub kind: PreferenceKind,
    /// Shown in the in-app inbox.
    pub inbox: bool,
    /// E-mailed (batched).
    pub email: bool,
}

/// A member's preferences for every kind, the defaults where they set none.
pub async fn preferences(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
) -> QueryResult<Vec<Preference>> {
    let stored: Vec<(String, bool, bool)> = notification_preferences::table
        .filter(notification_preferences::org_id.eq(org))
        .filter(notification_preferences::user_id.eq(user.uuid()))
        .select((
            notification_preferences::kind,
            notification_preferences::inbox,
            notification_preferences::email,
        ))
        .load(conn)
        .await?;
    Ok(PreferenceKind::ALL
        .into_iter()
        .map(|kind| {
            stored
                .iter()
                .find(|(name, _, _)| name == kind.as_str())
                .map_or(kind.default_preference(), |&(_, inbox, email)| Preference {
                    kind,
                    inbox,
                    email,
                })
        })
        .collect())
}

/// Stores a member's preference for one kind.
pub async fn set_preference(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
    preference: Preference,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(notification_preferences::table)
        .values((
            notification_preferences::org_id.eq(org),
            notification_preferences::user_id.eq(user.uuid()),
            notification_preferences::kind.eq(preference.kind.as_str()),
            notification_preferences::inbox.eq(preference.inbox),
            notification_preferences::email.eq(preference.email),
            notification_preferences::updated_at.eq(now),
        ))
        .on_conflict((
            notification_preferences::org_id,
            notification_preferences::user_id,
            notification_preferences::kind,
        ))
        .do_update()
        .set((
            notification_preferences::inbox.eq(preference.inbox),
            notification_preferences::email.eq(preference.email),
            notification_preferences::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Something to tell members about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The project it happened in.
    pub project: ProjectId,
    /// What kind of thing happened.
    pub kind: Kind,
    /// Who did it (never notified of their own doing); `None`: Beacon itself.
    pub actor: Option<UserId>,
    /// What it is about: `issue`, `task`, `dashboard`, `widget`, `funnel` or `annotation`.
    pub target_kind: String,
    /// Which one.
    pub target_id: String,
    /// One line for the inbox and the e-mail (cut to [`SUMMARY_CHARS`]).
    pub summary: String,
}

#[derive(QueryableByName)]
struct Delivered {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Bool)]
    email_pending: bool,
}

/// Stores `notice` for those of `recipients` who are members now, are not its actor, and want
/// its kind in their inbox or by e-mail; answers the members whose next e-mail batch it joins.
pub async fn notify(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    notice: &Notice,
    recipients: &[Uuid],
) -> QueryResult<Vec<UserId>> {
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let default = notice.kind.preference().default_preference();
    let summary = summary_of(&notice.summary);
    let delivered: Vec<Delivered> = diesel::sql_query(
        "INSERT INTO notifications (org_id, notification_id, user_id, project_id, kind, actor_id, \
                                    target_kind, target_id, summary, inbox, email_pending) \
         SELECT m.org_id, gen_random_uuid(), m.user_id, $2, $3, $4, $5, $6, $7, \
                coalesce(p.inbox, $8), coalesce(p.email, $9) \
         FROM memberships m \
         LEFT JOIN notification_preferences p \
                ON p.org_id = m.org_id AND p.user_id = m.user_id AND p.kind = $10 \
         WHERE m.org_id = $1 AND m.user_id = ANY($11) AND m.user_id IS DISTINCT FROM $4 \
           AND (coalesce(p.inbox, $8) OR coalesce(p.email, $9)) \
         RETURNING user_id, email_pending",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(notice.project.uuid())
    .bind::<Text, _>(notice.kind.as_str())
    .bind::<Nullable<SqlUuid>, _>(notice.actor.map(UserId::uuid))
    .bind::<Text, _>(&notice.target_kind)
    .bind::<Text, _>(&notice.target_id)
    .bind::<Text, _>(summary)
    .bind::<Bool, _>(default.inbox)
    .bind::<Bool, _>(default.email)
    .bind::<Text, _>(notice.kind.preference().as_str())
    .bind::<Array<SqlUuid>, _>(recipients)
    .load(conn)
    .await?;
    Ok(delivered
        .into_iter()
        .filter(|row| row.email_pending)
        .map(|row| UserId::from_uuid(row.user_id))
        .collect())
}

/// `text` on one line, cut to [`SUMMARY_CHARS`] characters with an ellipsis.
fn summary_of(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = line.chars().take(SUMMARY_CHARS).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    if cut.is_empty() {
        "…".to_owned()
    } else {
        cut
    }
}

/// A notification as its recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Notification {
    /// Id.
    pub notification_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Kind ([`Kind::as_str`]).
    pub kind: String,
    /// The actor's address while they are a member (`None`: Beacon, or a former member).
    pub actor_email: Option<String>,
    /// What it is about.
    pub target_kind: String,
    /// Which one.
    pub target_id: String,
    /// One line.
    pub summary: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Read at (`None`: unread).
    pub read_at: Option<DateTime<Utc>>,
}

/// `user`'s inbox, newest first, before the notification `before`, unread ones only when
/// `unread_only`.
pub async fn inbox(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
    (unread_only, before): (bool, Option<Uuid>),
    limit: i64,
) -> QueryResult<Vec<Notification>> {
    let before = match before {
        None => None,
        Some(id) => {
            let at: Option<DateTime<Utc>> = notifications::table
                .filter(notifications::org_id.eq(org))
                .filter(notifications::user_id.eq(user.uuid()))
                .filter(notifications::notification_id.eq(id))
                .select(notifications::created_at)
                .first(conn)
                .await
                .optional()?;
            let Some(at) = at else {
                return Ok(Vec::new());
            };
            Some((at, id))
        }
    };
    listed(
        conn,
        (org, user),
        Listing::Inbox {
            unread_only,
            before,
        },
        limit,
    )
    .await
}

/// Which of a member's notifications [`listed`] answers.
enum Listing {
    /// Their inbox, newest first (unread only; after a notification, by time then id).
    Inbox {
        unread_only: bool,
        before: Option<(DateTime<Utc>, Uuid)>,
    },
    /// Those waiting for their e-mail, oldest first.
    PendingEmail,
}

/// A member's notifications with each actor's address while they are a member.
async fn listed(
    conn: &mut AsyncPgConnection,
    (org, user): (OrgId, UserId),
    listing: Listing,
    limit: i64,
) -> QueryResult<Vec<Notification>> {
    let mut query = notifications::table
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(notifications::org_id)
                .and(memberships::user_id.nullable().eq(notifications::actor_id))),
        )
        .left_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(notifications::org_id.eq(org))
        .filter(notifications::user_id.eq(user.uuid()))
        .select((
            notifications::notification_id,
            notifications::project_id,
            notifications::kind,
            users::email.nullable(),
            notifications::target_kind,
            notifications::target_id,
            notifications::summary,
            notifications::created_at,
            notifications::read_at,
        ))
        .limit(limit)
        .into_boxed();
    match listing {
        Listing::Inbox {
            unread_only,
            before,
        } => {
            query = query.filter(notifications::inbox).order((
                notifications::created_at.desc(),
                notifications::notification_id.desc(),
            ));
            if unread_only {
                query = query.filter(notifications::read_at.is_null());
            }
            if let Some((at, id)) = before {
                query = query.filter(
                    diesel::dsl::sql::<Bool>(
                        "(notifications.created_at, notifications.notification_id) < (",
                    )
                    .bind::<diesel::sql_types::Timestamptz, _>(at)
                    .sql(", ")
                    .bind::<SqlUuid, _>(id)
                    .sql(")"),
                );
            }
        }
        Listing::PendingEmail => {
            query = query
                .filter(notifications::email_pending)
                .order(notifications::created_at);
        }
    }
    query.load(conn).await
}

/// Unread notifications in `user`'s inbox.
pub async fn unread_count(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::org_id.eq(org))
        .filter(notifications::user_id.eq(user.uuid()))
        .filter(notifications::inbox)
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)
        .await
}

/// Marks `user`'s notifications `ids` (all of them when `None`) read; answers how many were
/// unread.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
    ids: Option<&[Uuid]>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let mut query = diesel::update(notifications::table)
        .filter(notifications::org_id.eq(org))
        .filter(notifications::user_id.eq(user.uuid()))
        .filter(notifications::read_at.is_null())
        .into_boxed();
    if let Some(ids) = ids {
        query = query.filter(notifications::notification_id.eq_any(ids));
    }
    query
        .set(notifications::read_at.eq(now))
        .execute(conn)
        .await
}

/// The notifications waiting for `user`'s next e-mail, oldest first, with the member's
/// address; `None` when they are no longer a member (nothing is sent).
pub async fn pending_email(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
) -> QueryResult<Option<(String, Vec<Notification>)>> {
    let address: Option<String> = memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org))
        .filter(memberships::user_id.eq(user.uuid()))
        .select(users::email)
        .first(conn)
        .await
        .optional()?;
    let Some(address) = address else {
        return Ok(None);
    };
    let pending = listed(conn, (org, user), Listing::PendingEmail, MAX_LISTED).await?;
    Ok(Some((address, pending)))
}

/// Marks `ids` e-mailed; notifications that were for e-mail only are then gone.
pub async fn emailed(conn: &mut AsyncPgConnection, org: OrgId, ids: &[Uuid]) -> QueryResult<()> {
    diesel::update(notifications::table)
        .filter(notifications::org_id.eq(org))
        .filter(notifications::notification_id.eq_any(ids))
        .set(notifications::email_pending.eq(false))
        .execute(conn)
        .await?;
    diesel::delete(notifications::table)
        .filter(notifications::org_id.eq(org))
        .filter(notifications::notification_id.eq_any(ids))
        .filter(notifications::inbox.eq(false))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The members of `org` whose address is one of `emails` (compared without case).
pub async fn members_by_email(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    emails: &[String],
) -> QueryResult<Vec<Uuid>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org))
        .filter(
            diesel::dsl::sql::<Bool>("lower(users.email) = ANY(")
                .bind::<Array<Text>, _>(emails)
                .sql(")"),
        )
        .select(memberships::user_id)
        .load(conn)
        .await
}

#[derive(QueryableByName)]
struct Mentionable {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    email: String,
}

/// Up to `limit` members whose address holds `typed` (no case), those it starts first.
pub async fn mentionable(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    typed: &str,
    limit: i64,
) -> QueryResult<Vec<(Uuid, String)>> {
    let found: Vec<Mentionable> = diesel::sql_query(
        "SELECT m.user_id, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND strpos(lower(u.email), lower($2)) > 0 \
         ORDER BY strpos(lower(u.email), lower($2)) <> 1, u.email LIMIT $3",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<Text, _>(typed)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(found.into_iter().map(|m| (m.user_id, m.email)).collect())
}

/// The `@address` mentions in a comment's Markdown, lower-cased, each once: an `@` at the start
/// or after a space or opening punctuation, followed by an address.
pub fn mentions(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut previous = ' ';
    for (at, ch) in body.char_indices() {
        if ch == '@' && (previous.is_whitespace() || "([{\"'*_>".contains(previous)) {
            let rest = &body[at + 1..];
            let end = rest
                .find(|c: char| c.is_whitespace() || ",;:!?()[]{}<>\"'`*".contains(c))
                .unwrap_or(rest.len());
            let candidate = rest[..end].trim_end_matches('.').to_lowercase();
            let valid = candidate
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
            if valid && !found.contains(&candidate) {
                found.push(candidate);
            }
        }
        previous = ch;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mentions_once_and_without_case() {
        assert_eq!(
            mentions("Hi @Ann@Example.com, see (@bob@x.io). Also @ann@example.com."),
            vec!["ann@example.com", "bob@x.io"]
        );
    }

    #[test]
    fn ignores_what_is_not_a_mention() {
        assert!(mentions("mail ann@example.com or @team, or @x@localhost").is_empty());
        assert_eq!(mentions("**@c@d.org**"), vec!["c@d.org"]);
    }

    #[test]
    fn summaries_are_one_line_and_cut() {
        assert_eq!(summary_of("a\n\n b"), "a b");
        let long = "x".repeat(SUMMARY_CHARS + 5);
        assert_eq!(summary_of(&long).chars().count(), SUMMARY_CHARS + 1);
    }
}
