//! `project_salts`: the random keys of the visitor-id hash.
//!
//! Each project uses its newest salt. The sweeper adds a new one when the newest is older than
//! the project's rotation length, and deletes every salt 48 hours after it was replaced:
//! long enough to keep a visit across midnight together, short enough that yesterday's
//! visitors cannot be linked to next week's.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Integer, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::RngCore;
use uuid::Uuid;

use crate::{OrgId, ProjectId};

use crate::schema::project_salts;

/// Hours a replaced salt is kept.
pub const KEEP_REPLACED_HOURS: i32 = 48;

/// A new random 16-byte salt.
pub fn random_salt() -> Vec<u8> {
    let mut salt = vec![0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    salt
}

/// Adds a salt for a project (in its tenant scope; used when the project is created).
pub async fn add(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    project_id: ProjectId,
) -> QueryResult<()> {
    diesel::insert_into(project_salts::table)
        .values((
            project_salts::org_id.eq(org_id),
            project_salts::project_id.eq(project_id),
            project_salts::salt.eq(random_salt()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

#[derive(QueryableByName)]
struct CurrentSalt {
    #[diesel(sql_type = Bytea)]
    salt: Vec<u8>,
}

/// The salt a project uses now (as `beacon_ingest`).
pub async fn current(
    conn: &mut AsyncPgConnection,
    project_id: ProjectId,
) -> QueryResult<Option<Vec<u8>>> {
    let row: Option<CurrentSalt> = diesel::sql_query(
        "SELECT salt FROM project_salts WHERE project_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind::<SqlUuid, _>(project_id)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|row| row.salt))
}

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = SqlUuid)]
    org_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    project_id: Uuid,
}

/// What a rotation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Salts created.
    pub created: usize,
    /// Salts deleted.
    pub deleted: usize,
}

/// Rotates every project's salt that is due at `now`, and deletes salts replaced more than
/// 48 hours before `now` (as `beacon_sweeper`).
pub async fn rotate_all(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<Rotation> {
    let due: Vec<Due> = diesel::sql_query(
        "SELECT p.org_id, p.project_id FROM projects p \
         LEFT JOIN LATERAL (SELECT max(created_at) AS newest FROM project_salts s \
                            WHERE s.project_id = p.project_id) s ON true \
         WHERE s.newest IS NULL OR s.newest <= $1 - make_interval(hours => p.salt_rotation_hours)",
    )
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await?;
    for project in &due {
        diesel::insert_into(project_salts::table)
            .values((
                project_salts::org_id.eq(project.org_id),
                project_salts::project_id.eq(project.project_id),
                project_salts::created_at.eq(now),
                project_salts::salt.eq(random_salt()),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    let deleted = diesel::sql_query(
        "DELETE FROM project_salts s WHERE EXISTS (\
             SELECT 1 FROM project_salts newer WHERE newer.project_id = s.project_id \
             AND newer.created_at > s.created_at \
             AND newer.created_at <= $1 - make_interval(hours => $2))",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(KEEP_REPLACED_HOURS)
    .execute(conn)
    .await?;
    Ok(Rotation {
        created: due.len(),
        deleted,
    })
}
