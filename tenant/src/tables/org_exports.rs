//! `org_exports`: an organization's data exports. The archive itself is a file the export job
//! writes (under the data directory); this row says whether it is ready, how large it is, and
//! the SHA-256 of the download link's secret, which only the e-mail carries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::org_exports;
use crate::secrets::{new_token, token_hash};
use crate::{OrgId, UserId};

/// An export.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = org_exports)]
pub struct Export {
    /// Organization.
    pub org_id: OrgId,
    /// Id.
    pub export_id: Uuid,
    /// The owner who asked.
    pub requested_by: Uuid,
    /// `pending`, `ready` or `failed`.
    pub status: String,
    /// Asked at.
    pub created_at: DateTime<Utc>,
    /// Written (or failed) at.
    pub finished_at: Option<DateTime<Utc>>,
    /// The download link works until then.
    pub expires_at: Option<DateTime<Utc>>,
    /// The archive's size.
    pub size_bytes: Option<i64>,
}

/// Records a new, pending export.
pub async fn create(conn: &mut AsyncPgConnection, org: OrgId, by: UserId) -> QueryResult<Export> {
    diesel::insert_into(org_exports::table)
        .values((
            org_exports::org_id.eq(org),
            org_exports::export_id.eq(Uuid::now_v7()),
            org_exports::requested_by.eq(by),
        ))
        .returning(Export::as_returning())
        .get_result(conn)
        .await
}

/// One export.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: Uuid,
) -> QueryResult<Option<Export>> {
    org_exports::table
        .find((org, id))
        .select(Export::as_select())
        .first(conn)
        .await
        .optional()
}

/// The organization's exports, newest first (at most `limit`).
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    limit: i64,
) -> QueryResult<Vec<Export>> {
    org_exports::table
        .filter(org_exports::org_id.eq(org))
        .order(org_exports::export_id.desc())
        .limit(limit)
        .select(Export::as_select())
        .load(conn)
        .await
}

/// Marks the export written (`size` bytes, link valid until `expires_at`); answers the link's
/// secret, which is stored only hashed.
pub async fn mark_ready(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: Uuid,
    size: i64,
    expires_at: DateTime<Utc>,
) -> QueryResult<String> {
    let secret = new_token();
    diesel::update(org_exports::table.find((org, id)))
        .set((
            org_exports::status.eq("ready"),
            org_exports::finished_at.eq(diesel::dsl::now),
            org_exports::expires_at.eq(expires_at),
            org_exports::size_bytes.eq(size),
            org_exports::token_hash.eq(token_hash(&secret)),
        ))
        .execute(conn)
        .await?;
    Ok(secret)
}

/// Marks the export failed with a reason.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: Uuid,
    error: &str,
) -> QueryResult<()> {
    let error: String = error.chars().take(500).collect();
    diesel::update(org_exports::table.find((org, id)))
        .set((
            org_exports::status.eq("failed"),
            org_exports::finished_at.eq(diesel::dsl::now),
            org_exports::error.eq(error),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The ready export whose link secret is `secret`, while the link is valid at `now`.
pub async fn by_secret(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: Uuid,
    secret: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<Export>> {
    org_exports::table
        .find((org, id))
        .filter(org_exports::status.eq("ready"))
        .filter(org_exports::token_hash.eq(token_hash(secret)))
        .filter(org_exports::expires_at.gt(now))
        .select(Export::as_select())
        .first(conn)
        .await
        .optional()
}
