//! E-mails a password reset link. The token is made when the e-mail is sent (see
//! `send_verification_email` for why).

use serde::{Deserialize, Serialize};
use tenant::DbError;
use tenant::tables::{user_tokens, users};
use uuid::Uuid;

use super::JobContext;

/// How long a reset link works.
pub const TTL_HOURS: i64 = 1;

/// Payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendPasswordReset {
    /// The user who asked.
    pub user_id: Uuid,
}

impl SendPasswordReset {
    /// Sends the e-mail; succeeds without sending when the user is gone.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let user_id = self.user_id;
        let issued = ctx
            .db
            .unscoped(async |conn| {
                let Some(user) = users::find(conn, user_id).await? else {
                    return Ok::<_, DbError>(None);
                };
                let token = user_tokens::issue(
                    conn,
                    tenant::UserId::from_uuid(user_id),
                    user_tokens::Purpose::ResetPassword,
                    chrono::Duration::hours(TTL_HOURS),
                )
                .await?;
                Ok(Some((user.email, token)))
            })
            .await?;
        let Some((email, token)) = issued else {
            tracing::info!(%user_id, "user gone; no reset e-mail");
            return Ok(());
        };
        let mut context = tera::Context::new();
        context.insert("subject", "Reset your password");
        context.insert(
            "link",
            &format!("{}/reset-password?token={token}", ctx.public_url),
        );
        context.insert("hours", &TTL_HOURS);
        ctx.mailer
            .send(
                &email,
                "Reset your Beacon password",
                "reset_password",
                &context,
            )
            .await
    }
}
