//! Hourly: reminds members of the tasks assigned to them that are due by tomorrow, in their
//! project's time zone, once per due date (a changed date is reminded again). The organizations
//! with such tasks are found as `beacon_sweeper`, which sees only those four columns of
//! `tasks`; each is reminded in its organization's own scope, through the same notifications
//! (inbox and batched e-mail, as the member's "assignments" preference says).

use serde::{Deserialize, Serialize};
use tenant::tables::notifications::{Kind, Notice};
use tenant::tables::{projects, tasks};
use tenant::{DbError, OrgId, ProjectId};

use super::JobContext;
use super::send_notifications::deliver;

/// Payload (no ids: it covers every tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemindDueTasksAllTenants {}

impl RemindDueTasksAllTenants {
    /// Reminds every organization's due tasks; one organization's failure is logged and the
    /// others still reminded (the next run retries it).
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let now = ctx.clock.now();
        let orgs = ctx
            .sweeper
            .unscoped(async |conn| {
                Ok::<_, DbError>(tasks::orgs_with_due(conn, now.date_naive()).await?)
            })
            .await?;
        for org in orgs {
            let org = OrgId::from_uuid(org);
            let reminded = ctx
                .db
                .scoped(org, async |conn| {
                    let mut sent = 0usize;
                    for project in projects::list(conn, org, None, None, 10_000).await? {
                        let project = project.project;
                        let today =
                            tenant::stats::realtime::today(conn, &project.timezone, now).await?;
                        let id = ProjectId::from_uuid(project.project_id);
                        let due =
                            tasks::due_unreminded(conn, org, id, today + chrono::Days::new(1))
                                .await?;
                        for task in due {
                            let (Some(assignee), Some(on)) = (task.assignee_id, task.due_on) else {
                                continue;
                            };
                            let when = if on < today {
                                format!("was due {on}")
                            } else if on == today {
                                "is due today".to_owned()
                            } else {
                                "is due tomorrow".to_owned()
                            };
                            let notice = Notice {
                                project: id,
                                kind: Kind::DueSoon,
                                actor: None,
                                target_kind: "task".to_owned(),
                                target_id: task.task_id.to_string(),
                                summary: format!("“{}” {when}", task.title),
                            };
                            deliver(conn, org, &notice, &[assignee], now).await?;
                            tasks::reminded(conn, org, &task).await?;
                            sent += 1;
                        }
                    }
                    Ok::<_, DbError>(sent)
                })
                .await;
            if let Err(error) = reminded {
                tracing::warn!(org_id = %org, error = %error, "due-task reminders failed; retried next run");
            }
        }
        Ok(())
    }
}
