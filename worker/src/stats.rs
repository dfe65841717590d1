//! The Stats API's answers for jobs (alerts, anomaly detection, e-mail reports, AI summaries).
//!
//! Jobs call the same service the HTTP API calls ([`tenant::stats::answer`]), in one
//! tenant-scoped transaction, so a number in an alert or a report is the number the dashboard
//! shows for the same query. `api/tests/it/stats.rs` checks both ways answer identically.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tenant::stats::{StatsError, StatsRequest};
use tenant::tables::projects;
use tenant::{Db, OrgId, ProjectId};

/// Answers `request` for a project, as the Stats API would; `None` when the project is gone
/// (a job that finds its row gone succeeds quietly). `filters` is echoed in the answer's
/// `query`, as the API echoes the request's. Relative dates count back from `now` (the job
/// context's clock).
pub async fn answer(
    db: &Db,
    org: OrgId,
    project: ProjectId,
    request: &StatsRequest,
    filters: Value,
    now: DateTime<Utc>,
) -> Result<Option<Value>, StatsError> {
    db.scoped(org, async |conn| {
        let Some(found) = projects::find(conn, org, project).await? else {
            return Ok(None);
        };
        let answer = tenant::stats::answer(conn, &found.project, request, filters, now).await?;
        Ok(Some(answer))
    })
    .await
}
