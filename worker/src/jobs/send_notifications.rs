//! A member's batched notification e-mail.
//!
//! [`deliver`] stores a notification (through `tenant::tables::notifications::notify`, which
//! decides who gets it and how) and, for each member it is e-mailed to, enqueues this job once
//! per member and [`EMAIL_BATCH`] window, due at the window's end. So a burst of comments sends
//! one e-mail: the job sends everything still waiting for that member when it runs, and a later
//! window's job then finds nothing to send. A member who left before it runs gets nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenant::diesel_async::AsyncPgConnection;
use tenant::tables::notifications::{self, Kind, Notice, Notification};
use tenant::tables::{organizations, projects};
use tenant::{DbError, OrgId, ProjectId, UserId, diesel};
use uuid::Uuid;

use super::{Job, JobContext};

/// How long notifications wait to be e-mailed together.
pub const EMAIL_BATCH: Duration = Duration::from_secs(300);

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendNotifications {
    /// Organization.
    pub org_id: Uuid,
    /// The member.
    pub user_id: Uuid,
}

/// Stores `notice` for `recipients` (see `notifications::notify`) and schedules the e-mail
/// batch of each member it is e-mailed to, in `conn`'s transaction.
pub async fn deliver(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    notice: &Notice,
    recipients: &[Uuid],
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    for user in notifications::notify(conn, org, notice, recipients).await? {
        schedule(conn, org, user, now).await?;
    }
    Ok(())
}

/// Enqueues `user`'s e-mail batch for the [`EMAIL_BATCH`] window `now` is in, due at its end
/// (once per window: a second notification in the window joins the same e-mail).
async fn schedule(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let window = EMAIL_BATCH.as_secs() as i64;
    let slot = now.timestamp().div_euclid(window);
    let job = Job::SendNotifications(SendNotifications {
        org_id: org.uuid(),
        user_id: user.uuid(),
    });
    let key = |slot: i64| format!("notifications:{org}:{user}:{slot}");
    let due = |slot: i64| DateTime::from_timestamp((slot + 1) * window, 0).unwrap_or(now);
    // This window's batch may have started already (a transaction that began before the
    // window's end and commits after it): then the next window's batch takes this one.
    if !crate::queue::enqueue_once_at(conn, &job, &key(slot), Some(due(slot))).await?
        && !crate::queue::is_waiting(conn, &key(slot)).await?
    {
        crate::queue::enqueue_once_at(conn, &job, &key(slot + 1), Some(due(slot + 1))).await?;
    }
    Ok(())
}

/// One line of the e-mail.
#[derive(Debug, Serialize)]
struct Item {
    title: String,
    summary: String,
    link: String,
}

impl SendNotifications {
    /// Sends what waits for the member in one e-mail and marks it sent; succeeds without
    /// sending when nothing waits or they are no longer a member.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let org = OrgId::from_uuid(self.org_id);
        let user = UserId::from_uuid(self.user_id);
        let loaded = ctx
            .db
            .scoped(org, async |conn| {
                let Some(organization) = organizations::get(conn, org).await? else {
                    return Ok::<_, DbError>(None);
                };
                let Some((address, pending)) =
                    notifications::pending_email(conn, org, user).await?
                else {
                    return Ok(None);
                };
                let mut names = Vec::new();
                for item in &pending {
                    let project =
                        projects::find(conn, org, ProjectId::from_uuid(item.project_id)).await?;
                    names.push(project.map_or_else(String::new, |p| p.project.name));
                }
                Ok(Some((organization.name, address, pending, names)))
            })
            .await?;
        let Some((org_name, address, pending, names)) = loaded else {
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        let items: Vec<Item> = pending
            .iter()
            .zip(&names)
            .map(|(item, project)| Item {
                title: title_of(item, project),
                summary: item.summary.clone(),
                link: link_of(&ctx.public_url, self.org_id, item),
            })
            .collect();
        let subject = match items.len() {
            1 => format!("Beacon: {}", items[0].title),
            n => format!("Beacon: {n} new notifications in {org_name}"),
        };
        let mut context = tera::Context::new();
        context.insert("subject", &subject);
        context.insert(
            "headline",
            &format!("What happened in {org_name} while you were away:"),
        );
        context.insert("items", &items);
        context.insert("org_name", &org_name);
        context.insert(
            "inbox",
            &format!("{}/orgs/{}/inbox", ctx.public_url, self.org_id),
        );
        ctx.mailer
            .send(&address, &subject, "notifications", &context)
            .await?;
        let ids: Vec<Uuid> = pending.iter().map(|n| n.notification_id).collect();
        // A notification whose transaction committed while this batch was read waits for the
        // next window's e-mail rather than for the member's next notification.
        let now = ctx.clock.now();
        ctx.db
            .scoped(org, async |conn| {
                notifications::emailed(conn, org, &ids).await?;
                if notifications::pending_email(conn, org, user)
                    .await?
                    .is_some_and(|(_, left)| !left.is_empty())
                {
                    schedule(conn, org, user, now).await?;
                }
                Ok::<_, DbError>(())
            })
            .await?;
        Ok(())
    }
}

/// "Ann mentioned you on an error issue in Shop".
fn title_of(item: &Notification, project: &str) -> String {
    let who = item.actor_email.as_deref().unwrap_or("Beacon");
    let what = match item.target_kind.as_str() {
        "issue" => "an error issue",
        "task" => "a task",
        "dashboard" => "a dashboard",
        "widget" => "a dashboard widget",
        "funnel" => "a funnel",
        "annotation" => "an annotation",
        _ => "something",
    };
    let did = match Kind::parse(&item.kind) {
        Some(Kind::Mention) => format!("{who} mentioned you on {what}"),
        Some(Kind::Reply) => format!("{who} replied on {what} you discussed"),
        Some(Kind::Assignment) => format!("{who} assigned you a task"),
        Some(Kind::DueSoon) => "A task assigned to you is due soon".to_owned(),
        Some(Kind::IssueState) => format!("{who} changed the state of {what} you follow"),
        None => format!("{who} notified you"),
    };
    if project.is_empty() {
        did
    } else {
        format!("{did} in {project}")
    }
}

/// Where the dashboard shows what a notification is about.
pub fn link_of(public_url: &str, org: Uuid, item: &Notification) -> String {
    let project = format!("{public_url}/orgs/{org}/projects/{}", item.project_id);
    match item.target_kind.as_str() {
        "issue" => format!("{project}/errors/{}", item.target_id),
        "task" => format!("{project}/tasks?task={}", item.target_id),
        "dashboard" => format!("{project}/dashboards/{}", item.target_id),
        "widget" => {
            let board = item.target_id.split('/').next().unwrap_or_default();
            format!("{project}/dashboards/{board}")
        }
        "funnel" => format!("{project}/goals"),
        _ => project,
    }
}
