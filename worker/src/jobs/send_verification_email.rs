//! E-mails a new user a link that confirms their address.
//!
//! The token is made here, not by the request that queued the job, so no secret ever sits in
//! the queue. A retry makes a new token; an earlier one stays valid until it expires.

use serde::{Deserialize, Serialize};
use tenant::DbError;
use tenant::tables::{user_tokens, users};
use uuid::Uuid;

use super::JobContext;

/// How long a verification link works.
pub const TTL_HOURS: i64 = 48;

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendVerificationEmail {
    /// The user to verify.
    pub user_id: Uuid,
}

impl SendVerificationEmail {
    /// Sends the e-mail; succeeds without sending when the user is gone or already verified.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let user_id = self.user_id;
        let issued = ctx
            .db
            .unscoped(async |conn| {
                let Some(user) = users::find(conn, user_id).await? else {
                    return Ok::<_, DbError>(None);
                };
                if user.email_verified_at.is_some() {
                    return Ok(None);
                }
                let token = user_tokens::issue(
                    conn,
                    tenant::UserId::from_uuid(user_id),
                    user_tokens::Purpose::VerifyEmail,
                    chrono::Duration::hours(TTL_HOURS),
                )
                .await?;
                Ok(Some((user.email, token)))
            })
            .await?;
        let Some((email, token)) = issued else {
            tracing::info!(%user_id, "verification not needed any more");
            return Ok(());
        };
        let mut context = tera::Context::new();
        context.insert("subject", "Confirm your e-mail address");
        context.insert(
            "link",
            &format!("{}/verify-email?token={token}", ctx.public_url),
        );
        context.insert("hours", &TTL_HOURS);
        ctx.mailer
            .send(
                &email,
                "Confirm your e-mail address",
                "verify_email",
                &context,
            )
            .await
    }
}
