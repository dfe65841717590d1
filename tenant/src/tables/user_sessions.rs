//! `user_sessions`: server-side sign-in sessions.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::UserId;

use crate::schema::user_sessions;
use crate::secrets::{new_token, token_hash};

/// A live session.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_sessions)]
pub struct UserSession {
    /// The signed-in user.
    pub user_id: Uuid,
    /// Token the client must echo in `X-CSRF-Token` on writes.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// The organization whose single sign-on started it (`None`: a password sign-in).
    pub sso_org_id: Option<Uuid>,
}

/// A session just created: the cookie value is only known here.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie value.
    pub token: String,
    /// The CSRF token.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// Opens a session for `user_id` lasting `ttl` (a password sign-in).
pub async fn create(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    ttl: Duration,
) -> QueryResult<NewSession> {
    create_with(conn, user_id, ttl, None).await
}

/// Opens a session for `user_id` lasting `ttl`, started by the single sign-on of `sso_org`
/// when it is given.
pub async fn create_with(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    ttl: Duration,
    sso_org: Option<crate::OrgId>,
) -> QueryResult<NewSession> {
    let session = NewSession {
        token: new_token(),
        csrf_token: new_token(),
        expires_at: Utc::now() + ttl,
    };
    diesel::insert_into(user_sessions::table)
        .values((
            user_sessions::token_hash.eq(token_hash(&session.token)),
            user_sessions::user_id.eq(user_id),
            user_sessions::csrf_token.eq(&session.csrf_token),
            user_sessions::expires_at.eq(session.expires_at),
            user_sessions::sso_org_id.eq(sso_org.map(|org| org.uuid())),
        ))
        .execute(conn)
        .await?;
    Ok(session)
}

/// The unexpired session whose cookie value is `token`.
pub async fn find_valid(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> QueryResult<Option<UserSession>> {
    user_sessions::table
        .filter(user_sessions::token_hash.eq(token_hash(token)))
        .filter(user_sessions::expires_at.gt(diesel::dsl::now))
        .select(UserSession::as_select())
        .first(conn)
        .await
        .optional()
}

/// Ends the session whose cookie value is `token`.
pub async fn delete(conn: &mut AsyncPgConnection, token: &str) -> QueryResult<()> {
    diesel::delete(user_sessions::table.filter(user_sessions::token_hash.eq(token_hash(token))))
        .execute(conn)
        .await
        .map(drop)
}

/// Ends every session of a user (after a password reset).
pub async fn delete_all_for_user(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<()> {
    diesel::delete(user_sessions::table.filter(user_sessions::user_id.eq(user_id)))
        .execute(conn)
        .await
        .map(drop)
}

/// Ends the sessions of `user_id` that `org`'s single sign-on started; answers how many.
pub async fn delete_sso_sessions(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    org: crate::OrgId,
) -> QueryResult<usize> {
    diesel::delete(
        user_sessions::table
            .filter(user_sessions::user_id.eq(user_id))
            .filter(user_sessions::sso_org_id.eq(org.uuid())),
    )
    .execute(conn)
    .await
}

/// A user's live sessions: (created, expires), newest first (their own data export).
pub async fn list_for_user(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
) -> QueryResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    user_sessions::table
        .filter(user_sessions::user_id.eq(user_id))
        .order(user_sessions::created_at.desc())
        .select((user_sessions::created_at, user_sessions::expires_at))
        .load(conn)
        .await
}
