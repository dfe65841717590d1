//! Rotates every project's visitor-id salt when it is due and deletes salts replaced more than
//! 48 hours ago. Sweeps all tenants, so it runs as `beacon_sweeper`. Idempotent: a second run
//! in the same hour finds nothing due.

use serde::{Deserialize, Serialize};
use tenant::tables::project_salts;

use super::JobContext;

/// Payload (no ids: it covers every tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateSaltsAllTenants {}

impl RotateSaltsAllTenants {
    /// Runs the rotation.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let mut conn = ctx.sweeper.conn().await?;
        let rotation = project_salts::rotate_all(&mut conn, ctx.clock.now()).await?;
        tracing::info!(
            created = rotation.created,
            deleted = rotation.deleted,
            "rotated salts"
        );
        Ok(())
    }
}
