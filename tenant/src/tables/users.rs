//! `users`: accounts, global across organizations.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::users;

/// A user account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Id.
    pub id: Uuid,
    /// Lower-cased e-mail address.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// When the address was confirmed, if it was.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Sign-up time.
    pub created_at: DateTime<Utc>,
}

/// Inserts a user; `None` when the e-mail is taken. (`ON CONFLICT DO NOTHING` rather than a
/// failed insert, so the server log never quotes the address in a constraint error.)
pub async fn create(
    conn: &mut AsyncPgConnection,
    email: &str,
    password_hash: &str,
) -> QueryResult<Option<User>> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(Uuid::now_v7()),
            users::email.eq(email),
            users::password_hash.eq(password_hash),
        ))
        .on_conflict_do_nothing()
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The user with this (lower-cased) e-mail.
pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user with this id.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Marks the e-mail address as verified (keeps the first verification time).
pub async fn mark_verified(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::email_verified_at.is_null()),
    )
    .set(users::email_verified_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
    .map(drop)
}

/// Replaces the password hash.
pub async fn set_password_hash(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    password_hash: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)
        .await
        .map(drop)
}

/// Deletes an account: its sessions and tokens go with it (cascade), API keys it created stay
/// with their organizations (their creator becomes unknown). Memberships must be removed in
/// each organization's scope first, so each organization's audit log records the departure.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(users::table.find(id))
        .execute(conn)
        .await
        .map(|n| n > 0)
}
