//! Moves every project's hourly rollups forward ([`tenant::stats::rollups::advance`]): each step
//! builds at most a day of settled hours in its own transaction, so the first run over a long
//! history makes progress even if it is interrupted. Sweeps all tenants, so it runs as
//! `beacon_sweeper`. Idempotent: a repeated step rebuilds the same hours.

use diesel::QueryableByName;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use tenant::{Clock, Db, DbError, diesel, diesel_async};

use super::JobContext;

/// Most build steps per project in one run (a day each).
pub const MAX_STEPS_PER_RUN: usize = 400;

/// Payload (no ids: it covers every tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupAllTenants {}

#[derive(QueryableByName)]
struct ProjectRow {
    #[diesel(sql_type = SqlUuid)]
    org_id: uuid::Uuid,
    #[diesel(sql_type = SqlUuid)]
    project_id: uuid::Uuid,
}

impl RollupAllTenants {
    /// Advances every project's rollups as far as they are settled.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let minutes = advance_all(&ctx.sweeper, &ctx.clock).await?;
        tracing::info!(minutes, "rollups advanced");
        Ok(())
    }
}

/// Advances every project's rollups as far as they are settled at `clock`'s time; returns the
/// minutes of visit starts rolled up, summed over projects. `sweeper` connects as
/// `beacon_sweeper`. A project whose step fails is logged and skipped until the next run; the
/// others go on. Also `beacon rollup`.
pub async fn advance_all(sweeper: &Db, clock: &Clock) -> anyhow::Result<i64> {
    let projects: Vec<ProjectRow> = {
        let mut conn = sweeper.conn().await?;
        diesel::sql_query("SELECT org_id, project_id FROM projects ORDER BY project_id")
            .load(&mut conn)
            .await?
    };
    let mut minutes = 0;
    let mut failed = 0;
    for project in projects {
        for _ in 0..MAX_STEPS_PER_RUN {
            // The clock the API stamps events and resolves "today" with (the settle margin
            // covers servers whose clocks differ a little).
            let now = clock.now();
            let step = sweeper
                .unscoped(async |conn| {
                    Ok::<_, DbError>(
                        tenant::stats::rollups::advance(
                            conn,
                            project.org_id,
                            project.project_id,
                            now,
                        )
                        .await?,
                    )
                })
                .await;
            match step {
                Ok(Some((from, to))) => minutes += (to - from).num_minutes(),
                Ok(None) => break,
                Err(error) => {
                    failed += 1;
                    tracing::warn!(project = %project.project_id, %error, "rollup step failed");
                    break;
                }
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("rollups failed for {failed} project(s); the others advanced");
    }
    Ok(minutes)
}
