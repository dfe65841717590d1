//! `memberships`: who belongs to an organization, and with which role.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{OrgId, UserId};

use crate::schema::{memberships, users};

/// A member's role. Ordered by power: `Viewer < Member < Admin < Owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Works with projects and their data.
    Member,
    /// Also manages members, invitations, API keys and settings (including the name).
    Admin,
    /// Also deletes the organization and manages owners.
    Owner,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "viewer" => Self::Viewer,
            "member" => Self::Member,
            "admin" => Self::Admin,
            "owner" => Self::Owner,
            _ => return None,
        })
    }
}

/// A membership with the member's e-mail.
#[derive(Debug, Clone, Queryable)]
pub struct Member {
    /// The user.
    pub user_id: Uuid,
    /// The user's e-mail.
    pub email: String,
    /// Stored role name.
    pub role: String,
    /// When they joined.
    pub created_at: DateTime<Utc>,
}

/// Adds `user_id` to the scope's organization, or changes the role if already a member.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
    role: Role,
) -> QueryResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::org_id.eq(org_id),
            memberships::user_id.eq(user_id),
            memberships::role.eq(role.as_str()),
        ))
        .on_conflict((memberships::org_id, memberships::user_id))
        .do_update()
        .set(memberships::role.eq(role.as_str()))
        .execute(conn)
        .await
        .map(drop)
}

/// The role of `user_id` in the scope's organization, if a member.
pub async fn role_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
) -> QueryResult<Option<Role>> {
    let role: Option<String> = memberships::table
        .find((org_id, user_id))
        .select(memberships::role)
        .first(conn)
        .await
        .optional()?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// The role of `user_id`, locking the membership row until the transaction ends (so a role
/// change and a removal of the same member cannot interleave).
pub async fn lock_role(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
) -> QueryResult<Option<Role>> {
    let role: Option<String> = memberships::table
        .find((org_id, user_id))
        .select(memberships::role)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// Changes an existing member's role; `false` when they are not a member.
pub async fn set_role(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
    role: Role,
) -> QueryResult<bool> {
    diesel::update(memberships::table.find((org_id, user_id)))
        .set(memberships::role.eq(role.as_str()))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}

/// One member.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
) -> QueryResult<Option<Member>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::user_id.eq(user_id))
        .select((
            memberships::user_id,
            users::email,
            memberships::role,
            memberships::created_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// Members ordered by user id, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Member>> {
    let mut query = memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .select((
            memberships::user_id,
            users::email,
            memberships::role,
            memberships::created_at,
        ))
        .order(memberships::user_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(memberships::user_id.gt(after));
    }
    query.load(conn).await
}

/// Removes a member, with their own report subscriptions in the organization (someone who
/// left is never mailed its numbers again).
pub async fn remove(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_id: UserId,
) -> QueryResult<bool> {
    diesel::delete(
        crate::schema::report_subscriptions::table
            .filter(crate::schema::report_subscriptions::org_id.eq(org_id))
            .filter(crate::schema::report_subscriptions::user_id.eq(user_id.uuid())),
    )
    .execute(conn)
    .await?;
    diesel::delete(memberships::table.find((org_id, user_id)))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}

/// Number of owners, counted after locking them (in user id order, so concurrent callers lock
/// alike), so two concurrent demotions cannot both see "another owner remains".
pub async fn lock_and_count_owners(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<usize> {
    let owners: Vec<Uuid> = memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .select(memberships::user_id)
        .order(memberships::user_id)
        .for_update()
        .load(conn)
        .await?;
    Ok(owners.len())
}

/// The e-mail addresses of the organization's owners (for billing notices).
pub async fn owner_emails(conn: &mut AsyncPgConnection, org_id: OrgId) -> QueryResult<Vec<String>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .select(users::email)
        .order(users::email)
        .load(conn)
        .await
}

/// The e-mail addresses of those of `user_ids` who are members of the organization now (members
/// who left are skipped: they are never notified).
pub async fn emails_of(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user_ids: &[Uuid],
) -> QueryResult<Vec<String>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::user_id.eq_any(user_ids))
        .select(users::email)
        .order(users::email)
        .load(conn)
        .await
}
