//! Sends a project's weekly or monthly e-mail report for one schedule slot, or a preview of it
//! to the member who asked ("send now").
//!
//! The report is composed once ([`tenant::reports::compose`], the stats service's numbers for
//! the period's local days) and mailed to each subscription not yet handled for the slot, each
//! marked as handled after its e-mail went (or was skipped for a period without traffic): a
//! retry after a failed send mails only those not yet reached. Enqueued by the report loop in
//! the transaction that claimed the slot (`worker/src/reports/mod.rs`), so a slot is sent once
//! across every worker. An organization whose plan lacks `reports` gets nothing.

use billing::Feature;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenant::reports::{periods, unsubscribe};
use tenant::stats::realtime::today;
use tenant::tables::reports::{self, Cadence, Subscription};
use tenant::tables::{memberships, projects};
use tenant::{DbError, OrgId, ProjectId};
use uuid::Uuid;

use super::JobContext;
use crate::ai::facts::segments;
use crate::ai::highlights::{self, PeriodData};
use crate::ai::service::{Answered, Author};
use crate::mailer::Extras;
use crate::reports::chart;

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReport {
    /// Organization.
    pub org_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// `weekly` or `monthly`.
    pub cadence: String,
    /// The schedule's slot (the report covers the period before the slot's local day), or the
    /// time "send now" was asked (a preview covers the last complete period).
    pub slot: DateTime<Utc>,
    /// A preview for this member only (no subscription is marked).
    pub preview_to: Option<Uuid>,
}

/// What the job found to send.
struct Loaded {
    /// The report's figures (`data.content`) and what its highlights compare with.
    data: PeriodData,
    ai_allowed: bool,
    timezone: String,
    recipients: Vec<Subscription>,
}

impl SendReport {
    /// Composes and sends; succeeds without sending when the project is gone, the plan lacks
    /// reports, or every subscription was handled for the slot already.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let org = OrgId::from_uuid(self.org_id);
        let project_id = ProjectId::from_uuid(self.project_id);
        let Some(cadence) = Cadence::parse(&self.cadence) else {
            anyhow::bail!("unknown report cadence {:?}", self.cadence);
        };
        let now = ctx.clock.now();
        let loaded = ctx
            .db
            .scoped(org, async |conn| {
                let entitlements = ctx.billing.entitlements(conn, org, now).await?;
                if entitlements.require(Feature::Reports).is_err() {
                    tracing::info!(org_id = %org, "report skipped: the plan has no reports");
                    return Ok::<_, anyhow::Error>(None);
                }
                let Some(found) = projects::find(conn, org, project_id).await? else {
                    return Ok(None);
                };
                let project = found.project;
                let recipients = match self.preview_to {
                    Some(user) => preview_recipient(conn, org, user, cadence).await?,
                    None => {
                        let Some(report) =
                            reports::find_for(conn, org, project_id, cadence).await?
                        else {
                            return Ok(None);
                        };
                        reports::due_for(conn, org, report.report_id, self.slot).await?
                    }
                };
                if recipients.is_empty() {
                    return Ok(None);
                }
                let day: NaiveDate = today(conn, &project.timezone, self.slot).await?;
                let data = highlights::load(conn, &project, periods(cadence, day)).await?;
                Ok(Some(Loaded {
                    data,
                    ai_allowed: entitlements.require(Feature::AiSummaries).is_ok(),
                    timezone: project.timezone,
                    recipients,
                }))
            })
            .await?;
        let Some(loaded) = loaded else {
            return Ok(());
        };
        let project_path = format!("/orgs/{}/projects/{}", self.org_id, self.project_id);
        let highlights = crate::ai::highlights_for(
            &ctx.db,
            org,
            ctx.ai.as_ref(),
            loaded.ai_allowed,
            &loaded.data,
            (self.project_id, &project_path),
            now,
        )
        .await;
        let daily: Vec<i64> = loaded.data.content.daily.iter().map(|(_, v)| *v).collect();
        let png = chart::bars(&daily)?;
        let subject = format!(
            "{}: your {} Beacon report, {}",
            loaded.data.content.project,
            loaded.data.content.cadence,
            loaded.data.content.period_label
        );
        for recipient in &loaded.recipients {
            let preview = self.preview_to.is_some();
            if !preview && recipient.skip_empty && loaded.data.content.is_empty() {
                self.mark(ctx, org, recipient, None).await?;
                continue;
            }
            let unsubscribe = (!preview).then(|| {
                let token = unsubscribe::token(&ctx.sealing_key, org, recipient.subscription_id);
                (
                    format!("{}/unsubscribe?token={token}", ctx.public_url),
                    format!(
                        "{}/api/v1/reports/unsubscribe?token={token}",
                        ctx.public_url
                    ),
                )
            });
            let mut context = self.context(ctx, &loaded, &subject, unsubscribe.as_ref());
            insert_highlights(&mut context, &highlights, &ctx.public_url);
            let extras = Extras {
                inline_png: Some((CHART_CID.to_owned(), png.clone())),
                list_unsubscribe: unsubscribe.map(|(_, one_click)| one_click),
            };
            ctx.mailer
                .send_with(&recipient.email, &subject, ("report", &context), &extras)
                .await?;
            if !preview {
                self.mark(ctx, org, recipient, Some(ctx.clock.now()))
                    .await?;
            }
        }
        Ok(())
    }

    fn context(
        &self,
        ctx: &JobContext,
        loaded: &Loaded,
        subject: &str,
        unsubscribe: Option<&(String, String)>,
    ) -> tera::Context {
        let content = &loaded.data.content;
        let project_url = format!(
            "{}/orgs/{}/projects/{}",
            ctx.public_url, self.org_id, self.project_id
        );
        let mut context = tera::Context::new();
        context.insert("subject", subject);
        context.insert("report", content);
        context.insert("timezone", &loaded.timezone);
        context.insert("preview", &self.preview_to.is_some());
        context.insert("chart_cid", CHART_CID);
        let peak = content.daily.iter().map(|(_, v)| *v).max().unwrap_or(0);
        let total: i64 = content.daily.iter().map(|(_, v)| *v).sum();
        context.insert(
            "chart_alt",
            &format!(
                "Unique visitors per day, {}: {} days, at most {peak} in a day ({total} summed over days)",
                content.period_label,
                content.daily.len()
            ),
        );
        context.insert(
            "lists",
            &json!([
                {"title": "Top pages", "rows": content.pages},
                {"title": "Top sources", "rows": content.sources},
                {"title": "Top countries", "rows": content.countries},
            ]),
        );
        context.insert(
            "error_events",
            &tenant::reports::content::thousands(content.error_events),
        );
        context.insert("issue_link", &format!("{project_url}/errors"));
        context.insert(
            "dashboard_link",
            &format!(
                "{project_url}?period={},{}",
                content.period.from, content.period.to
            ),
        );
        context.insert("unsubscribe_link", &unsubscribe.map(|(page, _)| page));
        context
    }

    async fn mark(
        &self,
        ctx: &JobContext,
        org: OrgId,
        recipient: &Subscription,
        sent: Option<DateTime<Utc>>,
    ) -> anyhow::Result<()> {
        ctx.db
            .scoped(org, async |conn| {
                reports::mark_handled(conn, org, recipient.subscription_id, self.slot, sent)
                    .await?;
                Ok::<_, DbError>(())
            })
            .await?;
        Ok(())
    }
}

/// The inline chart's `Content-ID`.
const CHART_CID: &str = "visitors-chart";

/// The member a preview goes to, as a subscription that is never stored.
async fn preview_recipient(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    org: OrgId,
    user: Uuid,
    cadence: Cadence,
) -> Result<Vec<Subscription>, DbError> {
    let emails = memberships::emails_of(conn, org, &[user]).await?;
    Ok(emails
        .into_iter()
        .map(|email| Subscription {
            subscription_id: Uuid::nil(),
            report_id: Uuid::nil(),
            project_id: Uuid::nil(),
            cadence: cadence.as_str().to_owned(),
            user_id: Some(user),
            email,
            skip_empty: false,
            last_slot: None,
            last_sent_at: None,
            created_at: Utc::now(),
        })
        .collect())
}

/// The highlights as the templates show them: text and linked citations, and who wrote them.
fn insert_highlights(context: &mut tera::Context, highlights: &Answered, public_url: &str) {
    let label = match &highlights.author {
        Author::Ai { model } => format!(
            "Written by AI ({model}) from this report's figures; each number in brackets links to its source."
        ),
        Author::Statistical => {
            "Statistical summary computed by Beacon from this report's figures (no AI).".to_owned()
        }
    };
    context.insert(
        "highlights",
        &serde_json::json!({
            "segments": segments(&highlights.text, &highlights.facts, public_url),
            "text": highlights.text,
            "label": label,
            "unverified": highlights.unverified,
        }),
    );
}
