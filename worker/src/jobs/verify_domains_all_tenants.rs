//! Hourly: checks every organization's unverified domain claims against DNS, so a TXT record
//! published after the owner's last click still verifies the domain. Claims are found as
//! `beacon_sweeper` (which sees only which organization claims which unverified domain); each
//! is checked and stored in its organization's scope (`crate::dns::check_claim`).

use serde::{Deserialize, Serialize};
use tenant::tables::org_domains;
use tenant::{Actor, DbError};

use super::JobContext;

/// Payload (no ids: it covers every tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyDomainsAllTenants {}

impl VerifyDomainsAllTenants {
    /// Checks every pending claim; answers nothing, logs what failed to run.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let pending = ctx
            .sweeper
            .unscoped(async |conn| Ok::<_, DbError>(org_domains::pending(conn).await?))
            .await?;
        let actor = Actor::System("domain_check");
        for (org, domain) in pending {
            if let Err(error) =
                crate::dns::check_claim(&ctx.db, &ctx.dns, &actor, org, &domain, ctx.clock.now())
                    .await
            {
                tracing::warn!(org_id = %org, error = %error, "checking a domain claim failed; retried next run");
            }
        }
        Ok(())
    }
}
