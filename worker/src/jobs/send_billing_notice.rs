//! E-mails the organization's owners about its billing: a failed payment, a trial about to
//! end, a product's quota at 80% or used up. Billing claims each notice once per period before
//! enqueueing this job, so an owner gets each e-mail once; the text is written from the state
//! when the job runs.

use billing::entitlements::{DUNNING_GRACE, QUOTA_GRACE};
use billing::plans;
use serde::{Deserialize, Serialize};
use tenant::tables::usage::{self, Product};
use tenant::tables::{memberships, organizations};
use tenant::{DbError, OrgId};
use uuid::Uuid;

use super::JobContext;

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendBillingNotice {
    /// Organization.
    pub org_id: Uuid,
    /// `payment_failed`, `trial_will_end`, `quota_80:<product>` or `quota_100:<product>`.
    pub kind: String,
}

/// What an e-mail says.
struct Notice {
    subject: String,
    headline: String,
    paragraphs: Vec<String>,
}

fn product_noun(product: Product) -> &'static str {
    match product {
        Product::Events => "pageviews and custom events",
        Product::Errors => "error events",
        Product::Replays => "session replays",
    }
}

fn number(value: i64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl SendBillingNotice {
    /// Enqueues the e-mails billing decided on for `org`, on the connection of the write that
    /// decided them (so they go out exactly when it commits).
    pub async fn enqueue_all(
        conn: &mut tenant::diesel_async::AsyncPgConnection,
        org: OrgId,
        notices: impl IntoIterator<Item = billing::Notice>,
    ) -> Result<(), DbError> {
        for notice in notices {
            let job = super::Job::SendBillingNotice(Self {
                org_id: org.uuid(),
                kind: notice.kind,
            });
            crate::queue::enqueue(conn, &job).await?;
        }
        Ok(())
    }

    /// Sends the e-mail to every owner; succeeds without sending when the organization is gone
    /// or the kind is unknown.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let org = OrgId::from_uuid(self.org_id);
        let now = ctx.clock.now();
        let billing = ctx.billing.clone();
        let loaded = ctx
            .db
            .scoped(org, async |conn| {
                let Some(organization) = organizations::get(conn, org).await? else {
                    return Ok::<_, DbError>(None);
                };
                let entitlements = billing.entitlements(conn, org, now).await?;
                let states = usage::quota_states(conn, org).await?;
                let owners = memberships::owner_emails(conn, org).await?;
                Ok(Some((organization.name, entitlements, states, owners)))
            })
            .await?;
        let Some((org_name, entitlements, states, owners)) = loaded else {
            tracing::info!(org_id = %self.org_id, "organization gone; billing notice not sent");
            return Ok(());
        };
        let plan = plans::plan(entitlements.plan).name;
        let (_, period_end) = entitlements.period_days(now);
        let notice = match self.kind.split_once(':') {
            None if self.kind == "payment_failed" => {
                let grace_end = entitlements.past_due_since.unwrap_or(now) + DUNNING_GRACE;
                Notice {
                    subject: format!("Payment failed for {org_name} on Beacon"),
                    headline: format!("The payment for {org_name}'s {plan} plan failed."),
                    paragraphs: vec![
                        format!(
                            "Everything keeps working until {}. After that, features above the \
                             Free plan are off until the payment is made; dashboards stay \
                             readable and data keeps arriving.",
                            grace_end.format("%B %-d, %Y")
                        ),
                        "Update the payment method on the Billing page.".into(),
                    ],
                }
            }
            None if self.kind == "trial_will_end" => Notice {
                subject: format!("Your Beacon trial for {org_name} ends soon"),
                headline: format!(
                    "The {plan} trial of {org_name} ends on {}.",
                    entitlements
                        .trial_end
                        .map(|end| end.format("%B %-d, %Y").to_string())
                        .unwrap_or_else(|| "its last day".into())
                ),
                paragraphs: vec![
                    "Add a payment method to keep the plan; without one the organization \
                     returns to the Free plan and nothing is deleted."
                        .into(),
                ],
            },
            Some((threshold @ ("quota_80" | "quota_100"), product)) => {
                let Some(product) = Product::parse(product) else {
                    return Ok(());
                };
                let state = states
                    .iter()
                    .find(|state| state.product == product.as_str());
                let used = state.map_or(0, |state| state.used);
                let quota = state.and_then(|state| state.quota).unwrap_or(0);
                let noun = product_noun(product);
                if threshold == "quota_80" {
                    Notice {
                        subject: format!("{org_name} has used 80% of its Beacon {noun}"),
                        headline: format!(
                            "{org_name} has used {} of its {} {noun} this period.",
                            number(used),
                            number(quota)
                        ),
                        paragraphs: vec![format!(
                            "The period ends on {}. Upgrade the plan to raise the quota.",
                            period_end.format("%B %-d, %Y")
                        )],
                    }
                } else {
                    let since = state.and_then(|state| state.over_since).unwrap_or(now);
                    Notice {
                        subject: format!("{org_name} has used all of its Beacon {noun}"),
                        headline: format!(
                            "{org_name} has used its whole quota of {} {noun} this period.",
                            number(quota)
                        ),
                        paragraphs: vec![format!(
                            "New {noun} are still stored until {}. After that they are not \
                             stored until the period ends on {} or the plan is upgraded. Other \
                             products are not affected.",
                            (since + QUOTA_GRACE).format("%B %-d, %Y"),
                            period_end.format("%B %-d, %Y")
                        )],
                    }
                }
            }
            _ => {
                tracing::warn!(kind = %self.kind, "unknown billing notice; not sent");
                return Ok(());
            }
        };
        let mut context = tera::Context::new();
        context.insert("subject", &notice.subject);
        context.insert("headline", &notice.headline);
        context.insert("paragraphs", &notice.paragraphs);
        context.insert(
            "link",
            &format!("{}/orgs/{}/billing", ctx.public_url, self.org_id),
        );
        context.insert("link_label", "Open the Billing page");
        for owner in owners {
            ctx.mailer
                .send(&owner, &notice.subject, "owner_notice", &context)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(super::number(0), "0");
        assert_eq!(super::number(999), "999");
        assert_eq!(super::number(10_000), "10,000");
        assert_eq!(super::number(2_000_000), "2,000,000");
    }
}
