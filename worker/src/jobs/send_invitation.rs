//! E-mails an invitation to join an organization.
//!
//! The accept token reads `<org id>.<secret>`: the organization part opens the tenant scope in
//! which the secret is checked, so accepting needs no cross-tenant lookup.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenant::tables::{invitations, organizations};
use tenant::{DbError, OrgId};
use uuid::Uuid;

use super::JobContext;

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendInvitation {
    /// Organization.
    pub org_id: Uuid,
    /// The invitation.
    pub invitation_id: Uuid,
}

impl SendInvitation {
    /// Sends the e-mail; succeeds without sending when the invitation is gone, accepted or
    /// expired.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let Self {
            org_id,
            invitation_id,
        } = self;
        let issued = ctx
            .db
            .scoped(OrgId::from_uuid(org_id), async |conn| {
                let Some(invitation) =
                    invitations::find(conn, tenant::OrgId::from_uuid(org_id), invitation_id)
                        .await?
                else {
                    return Ok::<_, DbError>(None);
                };
                let Some(org) = organizations::get(conn, tenant::OrgId::from_uuid(org_id)).await?
                else {
                    return Ok(None);
                };
                let Some(token) =
                    invitations::issue_token(conn, tenant::OrgId::from_uuid(org_id), invitation_id)
                        .await?
                else {
                    return Ok(None);
                };
                let days = days_left(invitation.expires_at, Utc::now());
                Ok(Some((invitation, org.name, token, days)))
            })
            .await?;
        let Some((invitation, org_name, token, days)) = issued else {
            tracing::info!(%org_id, %invitation_id, "invitation no longer pending; not sent");
            return Ok(());
        };
        let link = format!(
            "{}/invitations/accept?token={}.{token}",
            ctx.public_url,
            org_id.simple()
        );
        let mut context = tera::Context::new();
        context.insert("subject", "You are invited to Beacon");
        context.insert("link", &link);
        context.insert("org_name", &org_name);
        context.insert("role", &invitation.role);
        context.insert("days", &days);
        let subject = format!("Join {org_name} on Beacon");
        ctx.mailer
            .send(&invitation.email, &subject, "invitation", &context)
            .await
    }
}

/// Days from `now` until `expires_at`, to the nearest whole day and at least 1. The e-mail goes
/// out moments after the invitation is made, so counting whole days only (rounding down) would
/// tell a 7-day invitation's guest "6 days".
fn days_left(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    const DAY: i64 = 86_400;
    ((expires_at - now).num_seconds() + DAY / 2)
        .div_euclid(DAY)
        .max(1)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn days_left_rounds_to_the_nearest_day() {
        let now = Utc::now();
        let left = |duration: Duration| days_left(now + duration, now);
        assert_eq!(left(Duration::days(7) - Duration::seconds(3)), 7);
        assert_eq!(left(Duration::days(7)), 7);
        assert_eq!(left(Duration::days(6) + Duration::hours(13)), 7);
        assert_eq!(left(Duration::days(6) + Duration::hours(11)), 6);
        assert_eq!(left(Duration::hours(2)), 1);
        assert_eq!(left(-Duration::hours(2)), 1);
    }
}
