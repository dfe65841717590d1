//! Hourly: deletes recordings older than their project's replay retention, with their chunks'
//! bodies in the blob store. The organizations that have such recordings are found as
//! `beacon_sweeper`, which sees only `(org_id, project_id, started_at)` of `replay_sessions`
//! and the projects' settings; each is pruned in its organization's own scope, in batches, so
//! one transaction never holds a large deletion. The same run forgets tombstones older than
//! two days and deletes the objects an S3-compatible store still owes (`blob_deletions`).

use chrono::Duration;
use serde::{Deserialize, Serialize};
use tenant::replay::store::SETTLE_BATCH;
use tenant::tables::{projects, replays};
use tenant::{DbError, OrgId, ProjectId};

use super::JobContext;

/// Recordings deleted per transaction.
const BATCH: i64 = 500;

/// Payload (no ids: it covers every tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReplaysAllTenants {}

impl PruneReplaysAllTenants {
    /// Prunes every organization's expired recordings; one organization's failure is logged
    /// and the others still pruned (the next run retries it).
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let now = ctx.clock.now();
        let orgs = ctx
            .sweeper
            .unscoped(async |conn| Ok::<_, DbError>(replays::orgs_to_sweep(conn, now).await?))
            .await?;
        for org in orgs {
            let org = OrgId::from_uuid(org);
            if let Err(error) = sweep(ctx, org, now).await {
                tracing::warn!(org_id = %org, error = %error, "replay retention failed; retried next run");
            }
        }
        Ok(())
    }
}

/// Prunes `org`'s expired recordings, forgets its old tombstones, then deletes the objects it
/// still owes an object store (those left by a failed deletion, and those of this run).
async fn sweep(
    ctx: &JobContext,
    org: OrgId,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    prune(ctx, org, now).await?;
    ctx.db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(replays::forget_tombstones(conn, org, now).await?)
        })
        .await?;
    loop {
        let settled = ctx.blobs.settle(&ctx.db, org, now).await?;
        if settled.deleted + settled.failed < SETTLE_BATCH as usize {
            return Ok(());
        }
    }
}

/// Deletes `org`'s expired recordings, batch by batch; answers how many.
pub async fn prune(
    ctx: &JobContext,
    org: OrgId,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let projects = ctx
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(projects::list(conn, org, None, None, 10_000).await?)
        })
        .await?;
    let mut deleted = 0;
    for project in projects {
        let id = ProjectId::from_uuid(project.project.project_id);
        loop {
            let blobs = ctx.blobs.clone();
            let batch = ctx
                .db
                .scoped(org, async |conn| {
                    let settings = replays::settings(conn, id).await?;
                    let Some(settings) = settings else {
                        return Ok::<_, anyhow::Error>(Vec::new());
                    };
                    let before = now - Duration::days(i64::from(settings.retention_days));
                    let expired = replays::older_than(conn, org, id, before, BATCH).await?;
                    let keys = replays::delete(conn, org, id, &expired, None).await?;
                    blobs.delete(conn, org, id, &keys, now).await?;
                    Ok(expired)
                })
                .await?;
            deleted += batch.len();
            if batch.len() < BATCH as usize {
                break;
            }
        }
    }
    Ok(deleted)
}
