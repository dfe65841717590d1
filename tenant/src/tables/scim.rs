//! SCIM provisioning rows: the bearer tokens of an organization's SCIM client
//! (`scim_<org>_<secret>`, so the organization is known before any lookup, as for API keys),
//! and the identity provider's view of its people and groups — each kept as the SCIM resource
//! the provider sent, beside the columns Beacon acts on (user name, active, display name,
//! group members).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{scim_group_members, scim_groups, scim_tokens, scim_users};
use crate::secrets::{new_token, token_hash};
use crate::{OrgId, UserId};

/// A SCIM token (without its secret).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scim_tokens)]
pub struct Token {
    /// Id.
    pub token_id: Uuid,
    /// What the owner called it.
    pub name: String,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last authenticated use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Splits a presented token into its organization and secret parts.
pub fn parse(token: &str) -> Option<(OrgId, &str)> {
    let rest = token.strip_prefix("scim_")?;
    let (org, secret) = rest.split_once('_')?;
    let org = Uuid::try_parse(org).ok()?;
    (!secret.is_empty()).then_some((OrgId::from_uuid(org), secret))
}

/// Creates a token; returns it with the full token string, which is never stored.
pub async fn create_token(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    name: &str,
    created_by: Option<UserId>,
) -> QueryResult<(Token, String)> {
    let secret = new_token();
    let full = format!("scim_{}_{}", org.uuid().simple(), secret);
    let token = diesel::insert_into(scim_tokens::table)
        .values((
            scim_tokens::org_id.eq(org),
            scim_tokens::token_id.eq(Uuid::now_v7()),
            scim_tokens::name.eq(name),
            scim_tokens::secret_hash.eq(token_hash(&secret)),
            scim_tokens::created_by.eq(created_by.map(UserId::uuid)),
        ))
        .returning(Token::as_returning())
        .get_result(conn)
        .await?;
    Ok((token, full))
}

/// The unrevoked token of the organization with this secret, marking it used.
pub async fn authenticate(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    secret: &str,
) -> QueryResult<Option<Token>> {
    diesel::update(
        scim_tokens::table
            .filter(scim_tokens::org_id.eq(org))
            .filter(scim_tokens::secret_hash.eq(token_hash(secret)))
            .filter(scim_tokens::revoked_at.is_null()),
    )
    .set(scim_tokens::last_used_at.eq(diesel::dsl::now))
    .returning(Token::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// The organization's tokens, newest first (revoked ones included).
pub async fn tokens(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Vec<Token>> {
    scim_tokens::table
        .filter(scim_tokens::org_id.eq(org))
        .order(scim_tokens::token_id.desc())
        .limit(200)
        .select(Token::as_select())
        .load(conn)
        .await
}

/// Revokes a token; `false` when there is no such unrevoked token.
pub async fn revoke_token(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    token_id: Uuid,
) -> QueryResult<bool> {
    diesel::update(
        scim_tokens::table
            .find((org, token_id))
            .filter(scim_tokens::revoked_at.is_null()),
    )
    .set(scim_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
    .map(|rows| rows > 0)
}

/// A person as the identity provider manages them.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scim_users)]
pub struct ScimUser {
    /// The SCIM id.
    pub scim_id: Uuid,
    /// The Beacon account (none while the person has no e-mail address).
    pub user_id: Option<Uuid>,
    /// SCIM `userName`.
    pub user_name: String,
    /// SCIM `externalId`.
    pub external_id: Option<String>,
    /// SCIM `active`.
    pub active: bool,
    /// The account exists because this organization provisioned it.
    pub created_account: bool,
    /// The resource as sent (without `id`, `meta`, `groups`).
    pub resource: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What a user is stored with.
#[derive(Debug, Clone)]
pub struct UserChange<'a> {
    /// The Beacon account.
    pub user_id: Option<UserId>,
    /// Whether this organization created that account.
    pub created_account: bool,
    /// SCIM `userName`.
    pub user_name: &'a str,
    /// SCIM `externalId`.
    pub external_id: Option<&'a str>,
    /// SCIM `active`.
    pub active: bool,
    /// The resource.
    pub resource: &'a serde_json::Value,
}

/// `column` equals `value` ignoring case, as the unique indexes on `lower(column)` compare (SCIM
/// names are case-insensitive).
fn same_text(
    column: &'static str,
    value: &str,
) -> diesel::expression::SqlLiteral<
    diesel::sql_types::Bool,
    impl diesel::query_builder::QueryFragment<diesel::pg::Pg>,
> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(&format!("lower({column}) = lower("))
        .bind::<diesel::sql_types::Text, _>(value.to_owned())
        .sql(")")
}

/// Whether an insert found its unique name taken.
fn taken<T>(result: QueryResult<T>) -> QueryResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Stores a new managed person; `None` when the user name (or the account) is taken here.
pub async fn insert_user(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    scim_id: Uuid,
    change: &UserChange<'_>,
) -> QueryResult<Option<ScimUser>> {
    taken(
        diesel::insert_into(scim_users::table)
            .values((
                scim_users::org_id.eq(org),
                scim_users::scim_id.eq(scim_id),
                scim_users::user_id.eq(change.user_id.map(UserId::uuid)),
                scim_users::user_name.eq(change.user_name),
                scim_users::external_id.eq(change.external_id),
                scim_users::active.eq(change.active),
                scim_users::created_account.eq(change.created_account),
                scim_users::resource.eq(change.resource),
            ))
            .returning(ScimUser::as_returning())
            .get_result(conn)
            .await,
    )
}

/// Replaces a managed person's resource (and account link); `None` when the new user name or
/// account is taken here.
pub async fn update_user(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    scim_id: Uuid,
    change: &UserChange<'_>,
) -> QueryResult<Option<ScimUser>> {
    taken(
        diesel::update(scim_users::table.find((org, scim_id)))
            .set((
                scim_users::user_id.eq(change.user_id.map(UserId::uuid)),
                scim_users::created_account.eq(change.created_account),
                scim_users::user_name.eq(change.user_name),
                scim_users::external_id.eq(change.external_id),
                scim_users::active.eq(change.active),
                scim_users::resource.eq(change.resource),
                scim_users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(ScimUser::as_returning())
            .get_result(conn)
            .await,
    )
}

/// One managed person.
pub async fn user(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    scim_id: Uuid,
) -> QueryResult<Option<ScimUser>> {
    scim_users::table
        .find((org, scim_id))
        .select(ScimUser::as_select())
        .first(conn)
        .await
        .optional()
}

/// The managed person linked to a Beacon account.
pub async fn user_of_account(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
) -> QueryResult<Option<ScimUser>> {
    scim_users::table
        .filter(scim_users::org_id.eq(org))
        .filter(scim_users::user_id.eq(user))
        .select(ScimUser::as_select())
        .first(conn)
        .await
        .optional()
}

/// Managed people by creation, `offset` and `limit` applied (SCIM's 1-based `startIndex` is
/// the caller's), and their total.
pub async fn users(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user_name: Option<&str>,
    external_id: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ScimUser>, i64)> {
    let filtered = || {
        let mut query = scim_users::table
            .filter(scim_users::org_id.eq(org))
            .into_boxed();
        if let Some(name) = user_name {
            query = query.filter(same_text("user_name", name));
        }
        if let Some(id) = external_id {
            query = query.filter(scim_users::external_id.eq(id.to_owned()));
        }
        query
    };
    let total = filtered().count().get_result(conn).await?;
    let rows = filtered()
        .order((scim_users::created_at, scim_users::scim_id))
        .offset(offset)
        .limit(limit)
        .select(ScimUser::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// Forgets a managed person; `false` when they were not managed here.
pub async fn delete_user(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    scim_id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(scim_users::table.find((org, scim_id)))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}

/// Whether the Beacon account `user` is managed by the organization's identity provider.
pub async fn is_managed(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        scim_users::table
            .filter(scim_users::org_id.eq(org))
            .filter(scim_users::user_id.eq(user)),
    ))
    .get_result(conn)
    .await
}

/// The managed accounts among `users`.
pub async fn managed_among(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    users: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    scim_users::table
        .filter(scim_users::org_id.eq(org))
        .filter(scim_users::user_id.eq_any(users))
        .select(scim_users::user_id.assume_not_null())
        .load(conn)
        .await
}

/// A group as the identity provider manages it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scim_groups)]
pub struct ScimGroup {
    /// Id.
    pub group_id: Uuid,
    /// SCIM `displayName`.
    pub display_name: String,
    /// SCIM `externalId`.
    pub external_id: Option<String>,
    /// The resource as sent (without `id`, `meta`, `members`).
    pub resource: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Stores a group (new when `group_id` is unknown); `None` when the name is taken.
pub async fn save_group(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    group_id: Uuid,
    display_name: &str,
    external_id: Option<&str>,
    resource: &serde_json::Value,
) -> QueryResult<Option<ScimGroup>> {
    taken(
        diesel::insert_into(scim_groups::table)
            .values((
                scim_groups::org_id.eq(org),
                scim_groups::group_id.eq(group_id),
                scim_groups::display_name.eq(display_name),
                scim_groups::external_id.eq(external_id),
                scim_groups::resource.eq(resource),
            ))
            .on_conflict((scim_groups::org_id, scim_groups::group_id))
            .do_update()
            .set((
                scim_groups::display_name.eq(display_name),
                scim_groups::external_id.eq(external_id),
                scim_groups::resource.eq(resource),
                scim_groups::updated_at.eq(diesel::dsl::now),
            ))
            .returning(ScimGroup::as_returning())
            .get_result(conn)
            .await,
    )
}

/// One group.
pub async fn group(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    group_id: Uuid,
) -> QueryResult<Option<ScimGroup>> {
    scim_groups::table
        .find((org, group_id))
        .select(ScimGroup::as_select())
        .first(conn)
        .await
        .optional()
}

/// Groups by creation, filtered by display name, with their total.
pub async fn groups(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    display_name: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ScimGroup>, i64)> {
    let filtered = || {
        let mut query = scim_groups::table
            .filter(scim_groups::org_id.eq(org))
            .into_boxed();
        if let Some(name) = display_name {
            query = query.filter(same_text("display_name", name));
        }
        query
    };
    let total = filtered().count().get_result(conn).await?;
    let rows = filtered()
        .order((scim_groups::created_at, scim_groups::group_id))
        .offset(offset)
        .limit(limit)
        .select(ScimGroup::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// Removes a group; `false` when there was none.
pub async fn delete_group(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    group_id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(scim_groups::table.find((org, group_id)))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}

/// The members of a group: their SCIM ids and user names.
pub async fn members(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    group_id: Uuid,
) -> QueryResult<Vec<(Uuid, String)>> {
    scim_group_members::table
        .inner_join(
            scim_users::table.on(scim_users::org_id
                .eq(scim_group_members::org_id)
                .and(scim_users::scim_id.eq(scim_group_members::scim_id))),
        )
        .filter(scim_group_members::org_id.eq(org))
        .filter(scim_group_members::group_id.eq(group_id))
        .order(scim_users::user_name)
        .select((scim_users::scim_id, scim_users::user_name))
        .load(conn)
        .await
}

/// Replaces a group's members with the managed people among `members` (SCIM ids); answers
/// who was in the group before and who is now (the people whose roles may change).
pub async fn set_members(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    group_id: Uuid,
    members: &[Uuid],
) -> QueryResult<(Vec<Uuid>, Vec<Uuid>)> {
    let before: Vec<Uuid> = scim_group_members::table
        .filter(scim_group_members::org_id.eq(org))
        .filter(scim_group_members::group_id.eq(group_id))
        .select(scim_group_members::scim_id)
        .load(conn)
        .await?;
    diesel::delete(
        scim_group_members::table
            .filter(scim_group_members::org_id.eq(org))
            .filter(scim_group_members::group_id.eq(group_id)),
    )
    .execute(conn)
    .await?;
    let known: Vec<Uuid> = scim_users::table
        .filter(scim_users::org_id.eq(org))
        .filter(scim_users::scim_id.eq_any(members))
        .select(scim_users::scim_id)
        .load(conn)
        .await?;
    let rows: Vec<_> = known
        .iter()
        .map(|user| {
            (
                scim_group_members::org_id.eq(org),
                scim_group_members::group_id.eq(group_id),
                scim_group_members::scim_id.eq(*user),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(scim_group_members::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok((before, known))
}

/// The groups a managed person (by SCIM id) is in: (id, display name).
pub async fn groups_of(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    scim_id: Uuid,
) -> QueryResult<Vec<(Uuid, String)>> {
    scim_group_members::table
        .inner_join(
            scim_groups::table.on(scim_groups::org_id
                .eq(scim_group_members::org_id)
                .and(scim_groups::group_id.eq(scim_group_members::group_id))),
        )
        .filter(scim_group_members::org_id.eq(org))
        .filter(scim_group_members::scim_id.eq(scim_id))
        .order(scim_groups::display_name)
        .select((scim_groups::group_id, scim_groups::display_name))
        .load(conn)
        .await
}
