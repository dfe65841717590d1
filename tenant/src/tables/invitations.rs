//! `invitations`: e-mailed offers to join an organization.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::OrgId;

use crate::schema::invitations;
use crate::secrets::{new_token, token_hash};

/// An invitation.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    /// Organization.
    pub org_id: Uuid,
    /// Id.
    pub invitation_id: Uuid,
    /// Invited address (lower-cased).
    pub email: String,
    /// Role granted on acceptance.
    pub role: String,
    /// Who invited.
    pub invited_by: Option<Uuid>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted.
    pub accepted_at: Option<DateTime<Utc>>,
}

/// Records an invitation; the token is made later by the job that e-mails it.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    email: &str,
    role: &str,
    invited_by: Uuid,
    ttl: Duration,
) -> QueryResult<Invitation> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::org_id.eq(org_id),
            invitations::invitation_id.eq(Uuid::now_v7()),
            invitations::email.eq(email),
            invitations::role.eq(role),
            invitations::invited_by.eq(invited_by),
            invitations::expires_at.eq(Utc::now() + ttl),
        ))
        .returning(Invitation::as_returning())
        .get_result(conn)
        .await
}

/// One invitation.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    invitation_id: Uuid,
) -> QueryResult<Option<Invitation>> {
    invitations::table
        .find((org_id, invitation_id))
        .select(Invitation::as_select())
        .first(conn)
        .await
        .optional()
}

/// Makes a fresh accept token for a pending invitation (replacing any earlier one) and returns
/// it; `None` when the invitation is gone, accepted or expired.
pub async fn issue_token(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    invitation_id: Uuid,
) -> QueryResult<Option<String>> {
    let token = new_token();
    let rows = diesel::update(
        invitations::table
            .find((org_id, invitation_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::expires_at.gt(diesel::dsl::now)),
    )
    .set(invitations::token_hash.eq(token_hash(&token)))
    .execute(conn)
    .await?;
    Ok((rows > 0).then_some(token))
}

/// The invitation of the scope's organization carrying `token`, locked until the transaction
/// ends, so concurrent accepts and revocations of it are serialized.
pub async fn lock_by_token(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    token: &str,
) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::token_hash.eq(token_hash(token)))
        .select(Invitation::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Marks an invitation accepted, once.
pub async fn mark_accepted(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    invitation_id: Uuid,
) -> QueryResult<bool> {
    diesel::update(
        invitations::table
            .find((org_id, invitation_id))
            .filter(invitations::accepted_at.is_null()),
    )
    .set(invitations::accepted_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
    .map(|rows| rows > 0)
}

/// Pending (not accepted) invitations ordered by id, after `after`.
pub async fn list_pending(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Invitation>> {
    let mut query = invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::accepted_at.is_null())
        .select(Invitation::as_select())
        .order(invitations::invitation_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(invitations::invitation_id.gt(after));
    }
    query.load(conn).await
}

/// Withdraws an invitation.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    invitation_id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(invitations::table.find((org_id, invitation_id)))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}
