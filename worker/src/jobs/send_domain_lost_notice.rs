//! Tells an organization that a site domain of one of its projects was taken over by another
//! organization that proved DNS control of it: a record in its audit log, and an e-mail to its
//! owners. Enqueued by the takeover, in the taking organization's transaction.

use serde::{Deserialize, Serialize};
use tenant::audit::{self, Action, Entry};
use tenant::tables::{memberships, organizations};
use tenant::{Actor, DbError, OrgId};
use uuid::Uuid;

use super::JobContext;

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendDomainLostNotice {
    /// The organization that lost the domain.
    pub org_id: Uuid,
    /// The site domain.
    pub domain: String,
}

impl SendDomainLostNotice {
    /// Records the loss and e-mails every owner; succeeds without sending when the
    /// organization is gone.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let org = OrgId::from_uuid(self.org_id);
        let domain = self.domain.clone();
        let loaded = ctx
            .db
            .scoped_as(org, &Actor::System("domain_takeover"), async |conn| {
                let Some(organization) = organizations::get(conn, org).await? else {
                    return Ok::<_, DbError>(None);
                };
                audit::record(conn, org, Entry::new(Action::ProjectDomainLost, &domain)).await?;
                Ok(Some((
                    organization.name,
                    memberships::owner_emails(conn, org).await?,
                )))
            })
            .await?;
        let Some((org_name, owners)) = loaded else {
            tracing::info!(org_id = %self.org_id, "organization gone; domain notice not sent");
            return Ok(());
        };
        let subject = format!(
            "{} now belongs to another organization on Beacon",
            self.domain
        );
        let mut context = tera::Context::new();
        context.insert("subject", &subject);
        context.insert(
            "headline",
            &format!(
                "{} was removed from {org_name}'s project: another organization proved it controls \
                 the domain's DNS.",
                self.domain
            ),
        );
        context.insert(
            "paragraphs",
            &vec![
                "Beacon no longer counts events for this domain in your project. Events already \
                 recorded stay where they are."
                    .to_owned(),
                "If your organization owns this domain, add it under Settings → Verified domains \
                 and publish the TXT record it shows; a verified domain can be taken back."
                    .to_owned(),
            ],
        );
        context.insert(
            "link",
            &format!("{}/orgs/{}/settings", ctx.public_url, self.org_id),
        );
        context.insert("link_label", "Open the organization's settings");
        for owner in owners {
            ctx.mailer
                .send(&owner, &subject, "owner_notice", &context)
                .await?;
        }
        Ok(())
    }
}
