//! `shared_links`: links that let anyone holding them read one dashboard of a project.
//!
//! The secret part of a link is stored as its SHA-256 (hex) only, a password as argon2id. What
//! a link's token looks like and how a password unlocks it is [`crate::sharing`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::shared_links;
use crate::{OrgId, ProjectId, UserId};

/// Most links one organization keeps.
pub const MAX_PER_ORG: i64 = 500;

/// A shared link.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = shared_links)]
pub struct SharedLink {
    /// Organization.
    pub org_id: Uuid,
    /// Id.
    pub link_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// The custom dashboard shown (`None`: the project's main dashboard).
    pub dashboard_id: Option<Uuid>,
    /// Name, for the people who manage links.
    pub name: String,
    /// SHA-256 (hex) of the secret.
    pub secret_hash: String,
    /// argon2id PHC string of the password.
    pub password_hash: Option<String>,
    /// The shared segment every query of the link is limited to.
    pub segment_id: Option<Uuid>,
    /// When the link stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Paused by an owner or admin.
    pub paused: bool,
    /// Origins allowed to frame it.
    pub embed_origins: Vec<String>,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// A new link.
#[derive(Debug, Clone)]
pub struct NewLink<'a> {
    /// Project.
    pub project: ProjectId,
    /// Custom dashboard, or the main one.
    pub dashboard_id: Option<Uuid>,
    /// Name.
    pub name: &'a str,
    /// SHA-256 (hex) of the secret.
    pub secret_hash: &'a str,
    /// Password hash.
    pub password_hash: Option<&'a str>,
    /// Segment.
    pub segment_id: Option<Uuid>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Origins allowed to frame it.
    pub embed_origins: &'a [String],
    /// Maker.
    pub by: Option<UserId>,
}

/// Saves a new link.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    new: NewLink<'_>,
) -> QueryResult<SharedLink> {
    diesel::insert_into(shared_links::table)
        .values((
            shared_links::org_id.eq(org),
            shared_links::link_id.eq(Uuid::now_v7()),
            shared_links::project_id.eq(new.project),
            shared_links::dashboard_id.eq(new.dashboard_id),
            shared_links::name.eq(new.name),
            shared_links::secret_hash.eq(new.secret_hash),
            shared_links::password_hash.eq(new.password_hash),
            shared_links::segment_id.eq(new.segment_id),
            shared_links::expires_at.eq(new.expires_at),
            shared_links::embed_origins.eq(new.embed_origins),
            shared_links::created_by.eq(new.by.map(UserId::uuid)),
        ))
        .returning(SharedLink::as_returning())
        .get_result(conn)
        .await
}

/// The organization's links (only those `made_by` made, when given), newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    made_by: Option<UserId>,
) -> QueryResult<Vec<SharedLink>> {
    let mut query = shared_links::table
        .filter(shared_links::org_id.eq(org))
        .into_boxed();
    if let Some(user) = made_by {
        query = query.filter(shared_links::created_by.eq(user.uuid()));
    }
    query
        .select(SharedLink::as_select())
        .order(shared_links::created_at.desc())
        .limit(MAX_PER_ORG)
        .load(conn)
        .await
}

/// How many links the organization keeps.
pub async fn count(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<i64> {
    shared_links::table
        .filter(shared_links::org_id.eq(org))
        .count()
        .get_result(conn)
        .await
}

/// One link.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    link_id: Uuid,
) -> QueryResult<Option<SharedLink>> {
    shared_links::table
        .find((org, link_id))
        .select(SharedLink::as_select())
        .first(conn)
        .await
        .optional()
}

/// Pauses or resumes a link; the link as it now is.
pub async fn set_paused(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    link_id: Uuid,
    paused: bool,
) -> QueryResult<Option<SharedLink>> {
    diesel::update(shared_links::table.find((org, link_id)))
        .set((
            shared_links::paused.eq(paused),
            shared_links::updated_at.eq(diesel::dsl::now),
        ))
        .returning(SharedLink::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Revokes (deletes) a link; whether it was there.
pub async fn delete(conn: &mut AsyncPgConnection, org: OrgId, link_id: Uuid) -> QueryResult<bool> {
    diesel::delete(shared_links::table.find((org, link_id)))
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}

/// The names of the links limited to `segment_id` (which keep it from being deleted).
pub async fn names_using_segment(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    segment_id: Uuid,
) -> QueryResult<Vec<String>> {
    shared_links::table
        .filter(shared_links::org_id.eq(org))
        .filter(shared_links::segment_id.eq(segment_id))
        .select(shared_links::name)
        .order(shared_links::name)
        .load(conn)
        .await
}
