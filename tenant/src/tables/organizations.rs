//! `organizations`: the tenants.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{OrgId, UserId};

use crate::schema::{events, funnels, memberships, organizations};

/// An organization.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    /// Id.
    pub org_id: Uuid,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Erasure requested: erased after this time unless an owner cancels.
    pub erase_after: Option<DateTime<Utc>>,
}

/// Inserts the organization of the current scope (the scope's id must equal `org_id`).
pub async fn create(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    name: &str,
) -> QueryResult<Organization> {
    diesel::insert_into(organizations::table)
        .values((
            organizations::org_id.eq(org_id),
            organizations::name.eq(name),
        ))
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
}

/// The organization of the current scope.
pub async fn get(conn: &mut AsyncPgConnection, org_id: OrgId) -> QueryResult<Option<Organization>> {
    organizations::table
        .find(org_id)
        .select(Organization::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the organization's row until the transaction ends (serializes counted changes, such
/// as the plan gates' "one more project").
pub async fn lock(conn: &mut AsyncPgConnection, org_id: OrgId) -> QueryResult<()> {
    organizations::table
        .find(org_id)
        .select(organizations::org_id)
        .for_update()
        .first::<Uuid>(conn)
        .await
        .optional()
        .map(drop)
}

/// Renames the organization.
pub async fn rename(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    name: &str,
) -> QueryResult<Option<Organization>> {
    diesel::update(organizations::table.find(org_id))
        .set(organizations::name.eq(name))
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Deletes an organization and everything in it; false when it does not exist. As for a
/// project ([`crate::tables::projects::delete`]): funnels first (their steps hold goals the
/// cascade would reach first), events last (they have no foreign key).
pub async fn delete(conn: &mut AsyncPgConnection, org_id: OrgId) -> QueryResult<bool> {
    diesel::delete(funnels::table.filter(funnels::org_id.eq(org_id)))
        .execute(conn)
        .await?;
    let deleted = diesel::delete(organizations::table.find(org_id))
        .execute(conn)
        .await?
        > 0;
    if deleted {
        diesel::delete(events::table.filter(events::org_id.eq(org_id)))
            .execute(conn)
            .await?;
    }
    Ok(deleted)
}

/// Asks for the organization's erasure after `erase_after` (by `by`); answers the organization.
pub async fn request_erasure(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    erase_after: DateTime<Utc>,
    by: UserId,
) -> QueryResult<Option<Organization>> {
    diesel::update(organizations::table.find(org_id))
        .set((
            organizations::erase_after.eq(erase_after),
            organizations::erasure_requested_by.eq(by),
        ))
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Cancels a requested erasure; answers the organization when one was pending.
pub async fn cancel_erasure(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
) -> QueryResult<Option<Organization>> {
    diesel::update(
        organizations::table
            .find(org_id)
            .filter(organizations::erase_after.is_not_null()),
    )
    .set((
        organizations::erase_after.eq(None::<DateTime<Utc>>),
        organizations::erasure_requested_by.eq(None::<Uuid>),
    ))
    .returning(Organization::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Organizations whose erasure is due at `now` (the erasure job, on the sweeper's connection,
/// which sees only organizations pending erasure and only these columns).
pub async fn due_for_erasure(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<Vec<OrgId>> {
    organizations::table
        .filter(organizations::erase_after.le(now))
        .select(organizations::org_id)
        .load::<Uuid>(conn)
        .await
        .map(|ids| ids.into_iter().map(OrgId::from_uuid).collect())
}

/// Records an erased organization's id and its audit chain's last record (signed or not).
pub async fn record_erased(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    audit_seq: i64,
    audit_hash: &[u8],
    signature: Option<&[u8]>,
) -> QueryResult<()> {
    use crate::schema::erased_organizations;
    diesel::insert_into(erased_organizations::table)
        .values((
            erased_organizations::org_id.eq(org_id),
            erased_organizations::audit_seq.eq(audit_seq),
            erased_organizations::audit_hash.eq(audit_hash),
            erased_organizations::signature.eq(signature),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// In a user scope: the user's organizations with their role, ordered by id, after `after`.
pub async fn list_for_user(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<(Organization, String)>> {
    let mut query = organizations::table
        .inner_join(memberships::table)
        .filter(memberships::user_id.eq(user_id))
        .select((Organization::as_select(), memberships::role))
        .order(organizations::org_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(organizations::org_id.gt(after));
    }
    query.load(conn).await
}
