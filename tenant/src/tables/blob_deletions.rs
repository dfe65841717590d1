//! `blob_deletions`: the objects an S3-compatible blob store still has to delete.
//!
//! An object cannot be deleted in a database transaction. So the transaction that deletes the
//! rows naming objects records them here, and [`crate::replay::store::BlobStore::settle`]
//! deletes the objects after it has committed. What fails stays here with its error and is
//! retried with a growing delay by the hourly replay job, so nothing is left behind.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::blob_deletions;
use crate::{OrgId, ProjectId};

/// An object still to delete.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = blob_deletions)]
pub struct Owed {
    /// Its key.
    pub blob_key: String,
    /// Failed attempts so far.
    pub attempts: i32,
}

/// Records that the objects under `keys` (of `project`) are to be deleted, on the transaction
/// that deletes the rows naming them.
pub async fn owe(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    keys: &[String],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let rows: Vec<_> = keys
        .iter()
        .map(|key| {
            (
                blob_deletions::org_id.eq(org),
                blob_deletions::blob_key.eq(key),
                blob_deletions::project_id.eq(project),
                blob_deletions::next_attempt_at.eq(now),
            )
        })
        .collect();
    diesel::insert_into(blob_deletions::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}

/// Up to `limit` of `org`'s deletions that are due, locked (others settling at the same time
/// skip them).
pub async fn due(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Owed>> {
    blob_deletions::table
        .filter(blob_deletions::org_id.eq(org))
        .filter(blob_deletions::next_attempt_at.le(now))
        .order(blob_deletions::next_attempt_at)
        .select(Owed::as_select())
        .limit(limit)
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Forgets deletions that are done.
pub async fn done(conn: &mut AsyncPgConnection, org: OrgId, keys: &[String]) -> QueryResult<usize> {
    diesel::delete(
        blob_deletions::table
            .filter(blob_deletions::org_id.eq(org))
            .filter(blob_deletions::blob_key.eq_any(keys)),
    )
    .execute(conn)
    .await
}

/// The delay before attempt `attempts + 1`: a minute, doubling, at most a day.
pub fn retry_delay(attempts: i32) -> Duration {
    let minutes = 1i64 << attempts.clamp(0, 11);
    Duration::minutes(minutes.min(24 * 60))
}

/// Records a failed attempt at `key`: tried again after [`retry_delay`].
pub async fn failed(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    owed: &Owed,
    error: &str,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let error: String = error.chars().take(1000).collect();
    diesel::update(
        blob_deletions::table
            .filter(blob_deletions::org_id.eq(org))
            .filter(blob_deletions::blob_key.eq(&owed.blob_key)),
    )
    .set((
        blob_deletions::attempts.eq(owed.attempts + 1),
        blob_deletions::next_attempt_at.eq(now + retry_delay(owed.attempts)),
        blob_deletions::last_error.eq(error),
    ))
    .execute(conn)
    .await
}

/// How many deletions `org` still owes.
pub async fn count(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<i64> {
    blob_deletions::table
        .filter(blob_deletions::org_id.eq(org))
        .count()
        .get_result(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_a_minute_doubling_up_to_a_day() {
        assert_eq!(retry_delay(0), Duration::minutes(1));
        assert_eq!(retry_delay(3), Duration::minutes(8));
        assert_eq!(retry_delay(30), Duration::minutes(24 * 60));
    }
}
