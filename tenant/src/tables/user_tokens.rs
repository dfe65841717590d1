//! `user_tokens`: single-use, expiring tokens sent by e-mail.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::UserId;

use crate::schema::user_tokens;
use crate::secrets::{new_token, token_hash};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Confirms an e-mail address.
    VerifyEmail,
    /// Allows setting a new password.
    ResetPassword,
}

impl Purpose {
    /// The value stored in `user_tokens.purpose`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// What happened when a token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// Valid: it is now used up. Carries the user id.
    Ok(Uuid),
    /// Known, but past its expiry.
    Expired,
    /// Known, but already used.
    AlreadyUsed,
    /// Not a token we issued for this purpose.
    Unknown,
}

/// Issues a token for `user_id`, valid for `ttl`; returns the secret to e-mail.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    purpose: Purpose,
    ttl: Duration,
) -> QueryResult<String> {
    let token = new_token();
    diesel::insert_into(user_tokens::table)
        .values((
            user_tokens::token_hash.eq(token_hash(&token)),
            user_tokens::user_id.eq(user_id),
            user_tokens::purpose.eq(purpose.as_str()),
            user_tokens::expires_at.eq(Utc::now() + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// Uses up `token` if it is valid for `purpose`. The check and the use are one UPDATE, so a
/// token raced by two requests is accepted once.
pub async fn consume(
    conn: &mut AsyncPgConnection,
    token: &str,
    purpose: Purpose,
) -> QueryResult<Consumed> {
    let hash = token_hash(token);
    let used: Option<Uuid> = diesel::update(
        user_tokens::table
            .filter(user_tokens::token_hash.eq(&hash))
            .filter(user_tokens::purpose.eq(purpose.as_str()))
            .filter(user_tokens::used_at.is_null())
            .filter(user_tokens::expires_at.gt(diesel::dsl::now)),
    )
    .set(user_tokens::used_at.eq(diesel::dsl::now))
    .returning(user_tokens::user_id)
    .get_result(conn)
    .await
    .optional()?;
    if let Some(user_id) = used {
        return Ok(Consumed::Ok(user_id));
    }
    let known: Option<(Option<DateTime<Utc>>, DateTime<Utc>)> = user_tokens::table
        .filter(user_tokens::token_hash.eq(&hash))
        .filter(user_tokens::purpose.eq(purpose.as_str()))
        .select((user_tokens::used_at, user_tokens::expires_at))
        .first(conn)
        .await
        .optional()?;
    Ok(match known {
        Some((Some(_), _)) => Consumed::AlreadyUsed,
        Some((None, _)) => Consumed::Expired,
        None => Consumed::Unknown,
    })
}

/// Uses up every outstanding token of `user_id` for `purpose` (after a password reset, the
/// other reset links must stop working).
pub async fn revoke_all(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    purpose: Purpose,
) -> QueryResult<()> {
    diesel::update(
        user_tokens::table
            .filter(user_tokens::user_id.eq(user_id))
            .filter(user_tokens::purpose.eq(purpose.as_str()))
            .filter(user_tokens::used_at.is_null()),
    )
    .set(user_tokens::used_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
    .map(drop)
}
