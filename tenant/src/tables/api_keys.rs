//! `api_keys`: organization-scoped keys for `Authorization: Bearer`.
//!
//! A key reads `bk_<org id>_<secret>`: the organization part opens the tenant scope in which
//! the secret's hash is looked up, so resolving a key never needs a cross-tenant query.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::OrgId;

use crate::schema::api_keys;
use crate::secrets::{new_token, token_hash};

/// An API key (without its secret).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    /// Organization.
    pub org_id: Uuid,
    /// Id.
    pub key_id: Uuid,
    /// Display name.
    pub name: String,
    /// First characters, to tell keys apart.
    pub prefix: String,
    /// Granted scopes: read, write, ingest, admin.
    pub scopes: Vec<String>,
    /// Projects it is limited to, or `None` for all.
    pub project_ids: Option<Vec<Uuid>>,
    /// Creator.
    pub created_by: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last authenticated use, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Splits a presented key into its organization and secret parts.
pub fn parse(key: &str) -> Option<(Uuid, &str)> {
    let rest = key.strip_prefix("bk_")?;
    let (org, secret) = rest.split_once('_')?;
    let org = Uuid::try_parse(org).ok()?;
    (!secret.is_empty()).then_some((org, secret))
}

/// Creates a key; returns it with the full secret key string, which is never stored.
pub async fn create(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    name: &str,
    scopes: &[String],
    project_ids: Option<&[Uuid]>,
    created_by: Option<Uuid>,
) -> QueryResult<(ApiKey, String)> {
    let secret = new_token();
    let full = format!("bk_{}_{}", org_id.uuid().simple(), secret);
    let key = diesel::insert_into(api_keys::table)
        .values((
            api_keys::org_id.eq(org_id),
            api_keys::key_id.eq(Uuid::now_v7()),
            api_keys::name.eq(name),
            api_keys::secret_hash.eq(token_hash(secret.as_str())),
            api_keys::prefix.eq(&full[..full.len().min(43)]),
            api_keys::scopes.eq(scopes),
            api_keys::project_ids.eq(project_ids.map(<[Uuid]>::to_vec)),
            api_keys::created_by.eq(created_by),
        ))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await?;
    Ok((key, full))
}

/// How stale `last_used_at` may get: a key used again within this many seconds is not marked
/// again, so its requests read the key without writing (a write is a WAL flush at commit and a
/// row lock every concurrent request with the key waited on).
const LAST_USED_PRECISION_SECONDS: i32 = 60;

/// The unrevoked key of the scope's organization with this secret, marking it used (to the
/// minute: [`LAST_USED_PRECISION_SECONDS`]).
pub async fn authenticate(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    secret: &str,
) -> QueryResult<Option<ApiKey>> {
    let found: Option<(ApiKey, bool)> = api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::secret_hash.eq(token_hash(secret)))
        .filter(api_keys::revoked_at.is_null())
        .select((
            ApiKey::as_select(),
            diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "coalesce(last_used_at < now() - make_interval(secs => {LAST_USED_PRECISION_SECONDS}), true)"
            )),
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((mut key, stale)) = found else {
        return Ok(None);
    };
    if stale {
        key.last_used_at = diesel::update(
            api_keys::table
                .filter(api_keys::org_id.eq(org_id))
                .filter(api_keys::key_id.eq(key.key_id)),
        )
        .set(api_keys::last_used_at.eq(diesel::dsl::now))
        .returning(api_keys::last_used_at)
        .get_result(conn)
        .await?;
    }
    Ok(Some(key))
}

/// Keys ordered by id, after `after` (revoked ones included, marked).
pub async fn list(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ApiKey>> {
    let mut query = api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .select(ApiKey::as_select())
        .order(api_keys::key_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(api_keys::key_id.gt(after));
    }
    query.load(conn).await
}

/// One key.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    key_id: Uuid,
) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .find((org_id, key_id))
        .select(ApiKey::as_select())
        .first(conn)
        .await
        .optional()
}

/// Revokes a key (idempotent); `false` when there is no such key.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    key_id: Uuid,
) -> QueryResult<bool> {
    diesel::update(api_keys::table.find((org_id, key_id)))
        .set(api_keys::revoked_at.eq(Some(Utc::now())))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}

/// Revokes every unrevoked key `user` created in the organization; answers their ids.
pub async fn revoke_created_by(
    conn: &mut AsyncPgConnection,
    org_id: OrgId,
    user: Uuid,
) -> QueryResult<Vec<Uuid>> {
    diesel::update(
        api_keys::table
            .filter(api_keys::org_id.eq(org_id))
            .filter(api_keys::created_by.eq(user))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(Some(Utc::now())))
    .returning(api_keys::key_id)
    .get_results(conn)
    .await
}
