//! Tells an organization's owners that a notification channel was turned off because its
//! receiver kept failing or answered 410 Gone (alerts to it would otherwise go nowhere
//! unnoticed). Enqueued in the transaction that turned the channel off.

use serde::{Deserialize, Serialize};
use tenant::tables::{memberships, notification_channels, organizations};
use tenant::{DbError, OrgId};
use uuid::Uuid;

use super::JobContext;

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendChannelDisabledNotice {
    /// Organization.
    pub org_id: Uuid,
    /// The channel turned off.
    pub channel_id: Uuid,
}

impl SendChannelDisabledNotice {
    /// E-mails every owner; succeeds without sending when the organization or channel is gone
    /// or the channel was turned on again.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let org = OrgId::from_uuid(self.org_id);
        let loaded = ctx
            .db
            .scoped(org, async |conn| {
                let Some(organization) = organizations::get(conn, org).await? else {
                    return Ok::<_, DbError>(None);
                };
                let Some(channel) = notification_channels::find(conn, org, self.channel_id).await?
                else {
                    return Ok(None);
                };
                Ok(Some((
                    organization.name,
                    channel,
                    memberships::owner_emails(conn, org).await?,
                )))
            })
            .await?;
        let Some((org_name, channel, owners)) = loaded.filter(|(_, channel, _)| !channel.enabled)
        else {
            return Ok(());
        };
        let subject = format!(
            "Beacon turned off the notification channel {}",
            channel.name
        );
        let mut context = tera::Context::new();
        context.insert("subject", &subject);
        context.insert(
            "headline",
            &format!(
                "Alerts of {org_name} no longer go to {} ({}): its deliveries kept failing.",
                channel.name, channel.kind
            ),
        );
        context.insert(
            "paragraphs",
            &vec![
                format!(
                    "The last error: {}",
                    channel.disabled_reason.as_deref().unwrap_or("unknown")
                ),
                "Fix the receiver, check the delivery log, and turn the channel on again; \
                 alerts that fired meanwhile are in each alert's history."
                    .to_owned(),
            ],
        );
        context.insert(
            "link",
            &format!("{}/orgs/{}/channels", ctx.public_url, self.org_id),
        );
        context.insert("link_label", "Open the notification channels");
        for owner in owners {
            ctx.mailer
                .send(&owner, &subject, "owner_notice", &context)
                .await?;
        }
        Ok(())
    }
}
