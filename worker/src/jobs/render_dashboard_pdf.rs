//! Makes a dashboard PDF in the background, for a period long enough that its stats queries take
//! a while: the dashboard shows the job's progress (queries done of all) and then offers the
//! file (`api/src/routes/file_exports.rs`).
//!
//! The composition runs in one transaction of the organization's scope, as the direct download
//! does; its progress goes out through a watch channel to a task that writes it in short
//! transactions of its own, so it shows while the composition runs. A PDF that cannot be made
//! is marked failed with the reason (the dashboard offers to ask again) and is not retried.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tenant::reports::{Detail, Period, compose_period_reporting, steps};
use tenant::tables::{pdf_exports, projects};
use tenant::{DbError, OrgId, ProjectId};
use uuid::Uuid;

use super::JobContext;
use crate::pdf::layout::Paper;

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderDashboardPdf {
    /// Organization.
    pub org_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// The `pdf_exports` row.
    pub export_id: Uuid,
}

impl RenderDashboardPdf {
    /// Makes the PDF and keeps it in its row; succeeds quietly when the row or project is gone
    /// or the PDF was made already.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let org = OrgId::from_uuid(self.org_id);
        let project_id = ProjectId::from_uuid(self.project_id);
        let id = self.export_id;
        let detail = Detail::Dashboard;
        let found = ctx
            .db
            .scoped(org, async |conn| {
                let Some(asked) = pdf_exports::find(conn, (org, project_id), id).await? else {
                    return Ok::<_, DbError>(None);
                };
                let Some(found) = projects::find(conn, org, project_id).await? else {
                    return Ok(None);
                };
                let total = i32::try_from(steps(detail)).unwrap_or(i32::MAX);
                if !pdf_exports::start(conn, org, id, total).await? {
                    return Ok(None);
                }
                Ok(Some((asked, found.project)))
            })
            .await?;
        let Some((asked, project)) = found else {
            return Ok(());
        };
        let period = Period {
            from: asked.period_from,
            to: asked.period_to,
        };
        let (progress, mut watched) = tokio::sync::watch::channel(0_u32);
        let db = ctx.db.clone();
        let writer = tokio::spawn(async move {
            while watched.changed().await.is_ok() {
                let done = i32::try_from(*watched.borrow_and_update()).unwrap_or(i32::MAX);
                let written = db
                    .scoped(org, async |conn| {
                        pdf_exports::progress(conn, org, id, done).await?;
                        Ok::<_, DbError>(())
                    })
                    .await;
                if let Err(error) = written {
                    tracing::warn!(%error, "a PDF's progress could not be written");
                }
            }
        });
        let composed = ctx
            .db
            .scoped(org, async |conn| {
                Ok::<_, anyhow::Error>(
                    compose_period_reporting(
                        conn,
                        &project,
                        (period, period.before()),
                        detail,
                        Some(&progress),
                    )
                    .await?,
                )
            })
            .await;
        drop(progress);
        let _ = writer.await;
        let outcome = composed.map(|content| {
            crate::pdf::dashboard(&content, &project.timezone, Paper::parse(&asked.paper))
        });
        ctx.db
            .scoped(org, async |conn| {
                match &outcome {
                    Ok(pdf) => pdf_exports::finish(conn, org, id, pdf, Utc::now()).await?,
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "a dashboard PDF failed");
                        let why = format!("the PDF could not be made: {error}; ask again");
                        pdf_exports::fail(conn, org, id, &why, Utc::now()).await?
                    }
                }
                Ok::<_, DbError>(())
            })
            .await?;
        Ok(())
    }
}
