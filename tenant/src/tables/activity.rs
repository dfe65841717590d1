//! A project's activity feed: comments, annotations and error issues' state changes, newest
//! first, read from where each is kept (the comment tables, the annotations, the audit log's
//! `issue.updated` records), so the feed needs no table of its own and cannot disagree with
//! them.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{OrgId, ProjectId};

/// Most items one feed answers.
pub const MAX_ITEMS: i64 = 200;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Item {
    /// When.
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    /// `comment`, `annotation` or `issue_state`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The member who did it (`None`: the system, or an account since gone).
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub actor_id: Option<Uuid>,
    /// Their address while they are a member.
    #[diesel(sql_type = Nullable<Text>)]
    pub actor_email: Option<String>,
    /// What: a comment's first 140 characters, an annotation's text, an issue's new state.
    #[diesel(sql_type = Text)]
    pub summary: String,
    /// What it is about: `dashboard`, `widget`, `issue`, `funnel` or `annotation`.
    #[diesel(sql_type = Text)]
    pub target_kind: String,
    /// Which one.
    #[diesel(sql_type = Text)]
    pub target_id: String,
}

/// The project's newest `limit` items.
pub async fn feed(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    limit: i64,
) -> diesel::QueryResult<Vec<Item>> {
    diesel::sql_query(
        "SELECT feed.*, u.email AS actor_email FROM ( \
           SELECT c.created_at AS at, 'comment' AS kind, c.author_id AS actor_id, \
                  left(c.body, 140) AS summary, t.target_kind, t.target_id \
             FROM comments c JOIN comment_threads t \
               ON t.org_id = c.org_id AND t.thread_id = c.thread_id \
            WHERE c.org_id = $1 AND t.project_id = $2 \
           UNION ALL \
           SELECT a.created_at, 'annotation', a.created_by, a.text, 'annotation', \
                  a.annotation_id::text \
             FROM annotations a WHERE a.org_id = $1 AND a.project_id = $2 \
           UNION ALL \
           SELECT l.recorded_at, 'issue_state', \
                  CASE WHEN l.actor ~ '^user:[0-9a-f-]{36}$' THEN substr(l.actor, 6)::uuid END, \
                  coalesce(l.changes -> 'status' ->> 'after', ''), 'issue', coalesce(l.target_id, '') \
             FROM audit_log l \
            WHERE l.org_id = $1 AND l.action = 'issue.updated' \
              AND l.changes -> 'project_id' ->> 'after' = $2::text \
              AND l.changes ? 'status' \
           UNION ALL \
           SELECT l.recorded_at, 'assignment', \
                  CASE WHEN l.actor ~ '^user:[0-9a-f-]{36}$' THEN substr(l.actor, 6)::uuid END, \
                  coalesce(l.changes -> 'title' ->> 'after', '') || ' → ' || coalesce( \
                    (SELECT au.email FROM memberships am JOIN users au ON au.id = am.user_id \
                      WHERE am.org_id = $1 \
                        AND am.user_id::text = l.changes -> 'assignee_id' ->> 'after'), \
                    'a former member'), \
                  'task', coalesce(l.target_id, '') \
             FROM audit_log l \
            WHERE l.org_id = $1 AND l.action IN ('task.created', 'task.updated') \
              AND l.changes -> 'project_id' ->> 'after' = $2::text \
              AND l.changes -> 'assignee_id' ->> 'after' IS NOT NULL \
         ) feed \
         LEFT JOIN memberships m ON m.org_id = $1 AND m.user_id = feed.actor_id \
         LEFT JOIN users u ON u.id = m.user_id \
         ORDER BY feed.at DESC LIMIT $3",
    )
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(project)
    .bind::<BigInt, _>(limit.clamp(1, MAX_ITEMS))
    .load(conn)
    .await
}
