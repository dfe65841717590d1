//! Hourly: audit retention. Every organization's records older than its plan keeps them
//! (`audit_retention_days` of its entitlements: seven years on Enterprise, one year on every
//! other plan and self-hosted) are removed, the last of them kept as a checkpoint signed with `BEACON_AUDIT_KEY`, so the rest of
//! the chain still verifies (`tenant::audit::checkpoint`). Without the key nothing is pruned:
//! an unsigned checkpoint would let anyone with database access cut the chain unnoticed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenant::audit::checkpoint::CheckpointKey;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::tables::audit_log;
use tenant::{Actor, Db, DbError, OrgId};

use super::JobContext;

/// Payload (no ids: it covers every tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneAuditAllTenants {}

impl PruneAuditAllTenants {
    /// Prunes every organization's chain; one that fails is logged and retried next run.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let Some(key) = &ctx.audit_key else {
            return Ok(());
        };
        let now = ctx.clock.now();
        let orgs = ctx
            .sweeper
            .unscoped(async |conn| {
                Ok::<_, DbError>(audit_log::organizations_with_chain(conn).await?)
            })
            .await?;
        for org in orgs {
            let kept = ctx
                .db
                .scoped(org, async |conn| {
                    Ok::<_, anyhow::Error>(ctx.billing.entitlements(conn, org, now).await?)
                })
                .await;
            let days = match kept {
                Ok(entitlements) => i64::from(entitlements.grants.audit_retention_days),
                Err(error) => {
                    tracing::warn!(org_id = %org, error = %error, "reading an organization's plan failed; its audit chain is pruned next run");
                    continue;
                }
            };
            if let Err(error) = prune(&ctx.db, key, org, now - Duration::days(days)).await {
                tracing::warn!(org_id = %org, error = %error, "pruning an audit chain failed; retried next run");
            }
        }
        Ok(())
    }
}

/// Removes `org`'s records from before `cutoff`, leaving a checkpoint signed with `key` and an
/// `audit_log.pruned` record; answers how many were removed.
pub async fn prune(
    db: &Db,
    key: &CheckpointKey,
    org: OrgId,
    cutoff: DateTime<Utc>,
) -> Result<i64, DbError> {
    db.scoped_as(org, &Actor::System("audit_retention"), async |conn| {
        let Some(last) = audit_log::last_before(conn, org, cutoff).await? else {
            return Ok(0);
        };
        let signature = key.sign(org, last.seq, &last.hash, last.recorded_at);
        let removed = audit_log::prune(conn, last.seq, &signature).await?;
        let changes = Changes::default()
            .set("checkpoint_seq", json!(null), json!(last.seq))
            .set("removed", json!(null), json!(removed))
            .set("recorded_before", json!(null), json!(cutoff));
        audit::record(
            conn,
            org,
            Entry::new(Action::AuditLogPruned, org).with(changes),
        )
        .await?;
        Ok(removed)
    })
    .await
}
