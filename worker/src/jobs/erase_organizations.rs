//! Hourly: erases the projects and organizations whose seven-day undo window has passed. A
//! project is deleted with its data by `projects::delete` and recorded as `project.deleted`. Each is deleted in
//! its own scope by `organizations::delete` (every tenant table reaches the organization by a
//! cascading key, events by an explicit delete), and its audit chain is reduced to one row in
//! the global `erased_organizations`: the chain's last sequence number and hash, signed with
//! `BEACON_AUDIT_KEY` when set. Due organizations are found as `beacon_sweeper`, which sees
//! only the id and erasure time of organizations pending erasure. The organization's export
//! archives go too, and every organization's archives older than their link.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenant::audit::chain::GENESIS;
use tenant::audit::checkpoint::CheckpointKey;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::tables::{audit_log, organizations, projects};
use tenant::{Actor, Db, DbError, OrgId, ProjectId};

use super::JobContext;
use tenant::replay::store::{org_prefix, project_prefix};

/// Payload (no ids: it covers every tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseOrganizations {}

impl EraseOrganizations {
    /// Erases every organization due; one that fails is logged and retried next run.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let now = ctx.clock.now();
        let due = ctx
            .sweeper
            .unscoped(async |conn| {
                Ok::<_, DbError>(organizations::due_for_erasure(conn, now).await?)
            })
            .await?;
        let removed = super::export_organization::remove_expired(&ctx.exports_dir, now);
        if removed > 0 {
            tracing::info!(removed, "expired export archives removed");
        }
        let projects = ctx
            .sweeper
            .unscoped(async |conn| Ok::<_, DbError>(projects::due_for_erasure(conn, now).await?))
            .await?;
        for (org, project) in projects {
            match erase_project(&ctx.db, org, project, now).await {
                Ok(true) => purge_objects(ctx, &project_prefix(org, project)).await,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(org_id = %org, project_id = %project, error = %error, "erasing a project failed; retried next run");
                }
            }
        }
        for org in due {
            match erase(&ctx.db, ctx.audit_key.as_ref(), org, now).await {
                Ok(true) => {
                    purge_objects(ctx, &org_prefix(org)).await;
                    let archives = ctx.exports_dir.join(org.uuid().simple().to_string());
                    let _ = std::fs::remove_dir_all(archives);
                    tracing::info!(org_id = %org, "organization erased");
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(org_id = %org, error = %error, "erasing an organization failed; retried next run");
                }
            }
        }
        Ok(())
    }
}

/// Deletes an erased organization's or project's session replay objects from an object store
/// (the PostgreSQL store's went with their rows). A failure is logged: those objects are no
/// longer named by any row or reachable through Beacon.
async fn purge_objects(ctx: &JobContext, prefix: &str) {
    if let Err(error) = ctx.blobs.purge_prefix(prefix).await {
        tracing::warn!(%error, "deleting an erased tenant's replay objects failed");
    }
}

/// Erases `org` when its erasure is still requested and due at `now` (an owner may have
/// cancelled since it was listed); answers whether it was erased.
pub async fn erase(
    db: &Db,
    key: Option<&CheckpointKey>,
    org: OrgId,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    db.scoped_as(org, &Actor::System("erasure"), async |conn| {
        organizations::lock(conn, org).await?;
        let Some(found) = organizations::get(conn, org).await? else {
            return Ok(false);
        };
        if found.erase_after.is_none_or(|after| after > now) {
            return Ok(false);
        }
        let (seq, hash, at) = match audit_log::head(conn, org).await? {
            Some(head) if head.seq > 0 => {
                let last = audit_log::chain_after(conn, org, head.seq - 1, 1).await?;
                let at = last.first().map_or(now, |record| record.recorded_at);
                (head.seq, head.hash, at)
            }
            _ => (0, GENESIS.to_vec(), now),
        };
        let signature = key.map(|key| key.sign(org, seq, &hash, at));
        organizations::record_erased(
            conn,
            org,
            seq,
            &hash,
            signature.as_ref().map(|s| s.as_slice()),
        )
        .await?;
        organizations::delete(conn, org).await?;
        Ok(true)
    })
    .await
}

/// Erases `project` when its erasure is still requested and due at `now` (an owner may have
/// cancelled since it was listed), recording `project.deleted` as `system:erasure`; answers
/// whether it was erased.
pub async fn erase_project(
    db: &Db,
    org: OrgId,
    project: ProjectId,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    db.scoped_as(org, &Actor::System("erasure"), async |conn| {
        let Some(found) = projects::find(conn, org, project).await? else {
            return Ok(false);
        };
        if found.project.erase_after.is_none_or(|after| after > now) {
            return Ok(false);
        }
        projects::delete(conn, org, project).await?;
        let changes =
            Changes::deleted(json!({"name": found.project.name, "domains": found.domains}));
        audit::record(
            conn,
            org,
            Entry::new(Action::ProjectDeleted, project).with(changes),
        )
        .await?;
        Ok(true)
    })
    .await
}
