//! `release_files`: a release's minified files and source maps, uploaded by a build, for
//! symbolicating the stack frames of error events.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

use crate::{OrgId, ProjectId};

use crate::schema::release_files;

/// A stored file, without its body.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = release_files)]
pub struct ReleaseFileInfo {
    /// The name frames are matched with: `~/static/app.min.js` or a full URL.
    pub name: String,
    /// SHA-256 of the body, hex.
    pub sha256: String,
    /// Upload time.
    pub created_at: DateTime<Utc>,
}

/// Stores (or replaces) a file of a release; returns its SHA-256.
pub async fn put(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    release: &str,
    name: &str,
    body: &[u8],
) -> QueryResult<String> {
    let sha256 = hex::encode(Sha256::digest(body));
    diesel::insert_into(release_files::table)
        .values((
            release_files::org_id.eq(org_id),
            release_files::project_id.eq(project_id),
            release_files::release.eq(release),
            release_files::name.eq(name),
            release_files::body.eq(body),
            release_files::sha256.eq(&sha256),
        ))
        .on_conflict((
            release_files::org_id,
            release_files::project_id,
            release_files::release,
            release_files::name,
        ))
        .do_update()
        .set((
            release_files::body.eq(excluded(release_files::body)),
            release_files::sha256.eq(excluded(release_files::sha256)),
            release_files::created_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(sha256)
}

/// The files of a release, by name.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    release: &str,
) -> QueryResult<Vec<ReleaseFileInfo>> {
    release_files::table
        .filter(release_files::org_id.eq(org_id))
        .filter(release_files::project_id.eq(project_id))
        .filter(release_files::release.eq(release))
        .select(ReleaseFileInfo::as_select())
        .order(release_files::name)
        .load(conn)
        .await
}

/// The first of `names` that the release has: `(name, sha256, body)`.
pub async fn find_first(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    release: &str,
    names: &[String],
) -> QueryResult<Option<(String, String, Vec<u8>)>> {
    let found: Vec<(String, String, Vec<u8>)> = release_files::table
        .filter(release_files::org_id.eq(org_id))
        .filter(release_files::project_id.eq(project_id))
        .filter(release_files::release.eq(release))
        .filter(release_files::name.eq_any(names))
        .select((
            release_files::name,
            release_files::sha256,
            release_files::body,
        ))
        .load(conn)
        .await?;
    Ok(names
        .iter()
        .find_map(|name| found.iter().find(|(n, _, _)| n == name).cloned()))
}

/// Deletes a file; false when there was none.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
    release: &str,
    name: &str,
) -> QueryResult<bool> {
    diesel::delete(release_files::table.find((org_id, project_id, release, name)))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}
