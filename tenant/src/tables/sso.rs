//! Single sign-on rows: an organization's connections (one per kind), its policy (SSO required,
//! SSO session age), the group-to-role mapping shared with SCIM, sign-ins in flight, and which
//! identity-provider subject is which user. Everything here is read and written in the
//! organization's scope, except home-realm discovery ([`realm`]), which asks one question
//! across tenants through `beacon_sso_realm`.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{
    saml_assertions, sso_connections, sso_group_roles, sso_identities, sso_logins, sso_policies,
};
use crate::secrets::token_hash;
use crate::tables::memberships::Role;
use crate::{OrgId, UserId};

/// The kinds of connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OpenID Connect.
    Oidc,
    /// SAML 2.0.
    Saml,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::Saml => "saml",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "oidc" => Some(Self::Oidc),
            "saml" => Some(Self::Saml),
            _ => None,
        }
    }
}

/// A stored connection.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sso_connections)]
pub struct Connection {
    /// Stored kind name.
    pub kind: String,
    /// Whether sign-ins may use it.
    pub enabled: bool,
    /// Non-secret settings, as the kind defines them.
    pub settings: serde_json::Value,
    /// The sealed client secret ([`crate::sealed`]).
    pub secret: Option<Vec<u8>>,
    /// Role of members it creates when no group maps.
    pub default_role: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What a connection is saved with.
#[derive(Debug, Clone)]
pub struct ConnectionChange<'a> {
    /// Whether sign-ins may use it.
    pub enabled: bool,
    /// Non-secret settings.
    pub settings: &'a serde_json::Value,
    /// A new sealed secret; `None` keeps the stored one.
    pub secret: Option<&'a [u8]>,
    /// Default role.
    pub default_role: Role,
}

/// The organization's connection of `kind`.
pub async fn connection(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    kind: Kind,
) -> QueryResult<Option<Connection>> {
    sso_connections::table
        .find((org, kind.as_str()))
        .select(Connection::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every connection of the organization.
pub async fn connections(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Vec<Connection>> {
    sso_connections::table
        .filter(sso_connections::org_id.eq(org))
        .order(sso_connections::kind)
        .select(Connection::as_select())
        .load(conn)
        .await
}

/// Creates or replaces the connection of `kind`; answers whether it existed before.
pub async fn save_connection(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    kind: Kind,
    change: &ConnectionChange<'_>,
) -> QueryResult<bool> {
    let existed = diesel::select(diesel::dsl::exists(
        sso_connections::table.find((org, kind.as_str())),
    ))
    .get_result::<bool>(conn)
    .await?;
    diesel::insert_into(sso_connections::table)
        .values((
            sso_connections::org_id.eq(org),
            sso_connections::kind.eq(kind.as_str()),
            sso_connections::enabled.eq(change.enabled),
            sso_connections::settings.eq(change.settings),
            sso_connections::secret.eq(change.secret),
            sso_connections::default_role.eq(change.default_role.as_str()),
        ))
        .on_conflict((sso_connections::org_id, sso_connections::kind))
        .do_update()
        .set((
            sso_connections::enabled.eq(change.enabled),
            sso_connections::settings.eq(change.settings),
            sso_connections::default_role.eq(change.default_role.as_str()),
            sso_connections::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    if let Some(secret) = change.secret {
        diesel::update(sso_connections::table.find((org, kind.as_str())))
            .set(sso_connections::secret.eq(secret))
            .execute(conn)
            .await?;
    }
    Ok(existed)
}

/// Removes the connection of `kind`; `false` when there was none.
pub async fn delete_connection(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    kind: Kind,
) -> QueryResult<bool> {
    diesel::delete(sso_connections::table.find((org, kind.as_str())))
        .execute(conn)
        .await
        .map(|rows| rows > 0)
}

/// Whether the organization requires SSO, and how long SSO sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Members (not owners) must sign in through SSO.
    pub enforced: bool,
    /// Hours an SSO session lasts.
    pub session_hours: i32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            enforced: false,
            session_hours: 24,
        }
    }
}

/// The organization's policy (the default when never set).
pub async fn policy(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Policy> {
    let row: Option<(bool, i32)> = sso_policies::table
        .find(org)
        .select((sso_policies::enforced, sso_policies::session_hours))
        .first(conn)
        .await
        .optional()?;
    Ok(row
        .map(|(enforced, session_hours)| Policy {
            enforced,
            session_hours,
        })
        .unwrap_or_default())
}

/// Stores the organization's policy.
pub async fn set_policy(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    policy: Policy,
) -> QueryResult<()> {
    diesel::insert_into(sso_policies::table)
        .values((
            sso_policies::org_id.eq(org),
            sso_policies::enforced.eq(policy.enforced),
            sso_policies::session_hours.eq(policy.session_hours),
        ))
        .on_conflict(sso_policies::org_id)
        .do_update()
        .set((
            sso_policies::enforced.eq(policy.enforced),
            sso_policies::session_hours.eq(policy.session_hours),
            sso_policies::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// `user`'s role in the organization and whether it requires SSO, in one read (the scope
/// extractors ask this on every request of a signed-in user).
pub async fn role_and_enforced(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
) -> QueryResult<Option<(Role, bool)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        role: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        enforced: bool,
    }
    let row: Option<Row> = diesel::sql_query(
        "SELECT m.role, COALESCE(p.enforced, false) AS enforced FROM memberships m \
         LEFT JOIN sso_policies p ON p.org_id = m.org_id \
         WHERE m.org_id = $1 AND m.user_id = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(org.uuid())
    .bind::<diesel::sql_types::Uuid, _>(user.uuid())
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.and_then(|row| Role::parse(&row.role).map(|role| (role, row.enforced))))
}

/// The group-to-role mapping, by group name.
pub async fn group_roles(
    conn: &mut AsyncPgConnection,
    org: OrgId,
) -> QueryResult<Vec<(String, String)>> {
    sso_group_roles::table
        .filter(sso_group_roles::org_id.eq(org))
        .order(sso_group_roles::group_name)
        .select((sso_group_roles::group_name, sso_group_roles::role))
        .load(conn)
        .await
}

/// Replaces the group-to-role mapping.
pub async fn replace_group_roles(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    mapping: &[(String, Role)],
) -> QueryResult<()> {
    diesel::delete(sso_group_roles::table.filter(sso_group_roles::org_id.eq(org)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = mapping
        .iter()
        .map(|(group, role)| {
            (
                sso_group_roles::org_id.eq(org),
                sso_group_roles::group_name.eq(group),
                sso_group_roles::role.eq(role.as_str()),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(sso_group_roles::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The highest role `groups` map to, if any maps.
pub async fn role_for_groups(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    groups: &[String],
) -> QueryResult<Option<Role>> {
    if groups.is_empty() {
        return Ok(None);
    }
    let roles: Vec<String> = sso_group_roles::table
        .filter(sso_group_roles::org_id.eq(org))
        .filter(sso_group_roles::group_name.eq_any(groups))
        .select(sso_group_roles::role)
        .load(conn)
        .await?;
    Ok(roles.iter().filter_map(|role| Role::parse(role)).max())
}

/// Why a sign-in was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// To sign someone in.
    SignIn,
    /// An owner's test of the connection: nobody is signed in; what the IdP sent is kept.
    Test,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Test => "test",
        }
    }
}

/// A sign-in in flight, as started.
#[derive(Debug, Clone)]
pub struct NewLogin {
    /// The `state` sent to the IdP (stored as its SHA-256).
    pub state: String,
    /// Connection kind.
    pub kind: Kind,
    /// Sign in, or test.
    pub purpose: Purpose,
    /// The nonce the ID token must carry (OIDC) or the request id (SAML).
    pub nonce: String,
    /// The PKCE verifier (OIDC).
    pub pkce_verifier: Option<String>,
    /// Where the dashboard goes afterwards (a path).
    pub return_to: Option<String>,
    /// How long it may take.
    pub ttl: Duration,
}

/// A sign-in in flight, as taken back.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sso_logins)]
pub struct Login {
    /// SHA-256 of the state (the id of a test).
    pub state_hash: Vec<u8>,
    /// Stored kind name.
    pub kind: String,
    /// `sign_in` or `test`.
    pub purpose: String,
    /// Expected nonce (or SAML request id).
    pub nonce: String,
    /// PKCE verifier.
    pub pkce_verifier: Option<String>,
    /// Where to go afterwards.
    pub return_to: Option<String>,
}

impl Login {
    /// Whether this is an owner's test of the connection.
    pub fn is_test(&self) -> bool {
        self.purpose == Purpose::Test.as_str()
    }
}

/// Stores a sign-in in flight (and forgets the organization's expired ones).
pub async fn start_login(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    login: &NewLogin,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(
        sso_logins::table
            .filter(sso_logins::org_id.eq(org))
            .filter(sso_logins::expires_at.lt(now - Duration::days(1))),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(sso_logins::table)
        .values((
            sso_logins::org_id.eq(org),
            sso_logins::state_hash.eq(token_hash(&login.state)),
            sso_logins::kind.eq(login.kind.as_str()),
            sso_logins::purpose.eq(login.purpose.as_str()),
            sso_logins::nonce.eq(&login.nonce),
            sso_logins::pkce_verifier.eq(login.pkce_verifier.as_deref()),
            sso_logins::return_to.eq(login.return_to.as_deref()),
            sso_logins::created_at.eq(now),
            sso_logins::expires_at.eq(now + login.ttl),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Takes the unexpired, unused sign-in of `state` for `kind`, marking it used: a state works
/// once.
pub async fn take_login(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    kind: Kind,
    state: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<Login>> {
    diesel::update(
        sso_logins::table
            .filter(sso_logins::org_id.eq(org))
            .filter(sso_logins::state_hash.eq(token_hash(state)))
            .filter(sso_logins::kind.eq(kind.as_str()))
            .filter(sso_logins::used_at.is_null())
            .filter(sso_logins::expires_at.gt(now)),
    )
    .set(sso_logins::used_at.eq(now))
    .returning(Login::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Keeps what a test sign-in received (what the IdP sent, or why it failed).
pub async fn record_outcome(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    state_hash: &[u8],
    outcome: &serde_json::Value,
) -> QueryResult<()> {
    diesel::update(
        sso_logins::table
            .filter(sso_logins::org_id.eq(org))
            .filter(sso_logins::state_hash.eq(state_hash)),
    )
    .set(sso_logins::outcome.eq(outcome))
    .execute(conn)
    .await
    .map(drop)
}

/// Takes the checked identity a SAML sign-in left for this browser: its state, once, unexpired,
/// and only with the handoff token the ACS gave the browser that posted the response (the
/// outcome's `handoff` is that token's hex SHA-256). The row goes, so a second finish finds
/// nothing; a wrong token leaves it. Answers the outcome and where to go.
pub async fn take_handoff(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    state: &str,
    handoff: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<(serde_json::Value, Option<String>)>> {
    let row: Option<(Option<serde_json::Value>, Option<String>)> = diesel::delete(
        sso_logins::table
            .filter(sso_logins::org_id.eq(org))
            .filter(sso_logins::state_hash.eq(token_hash(state)))
            .filter(sso_logins::kind.eq(Kind::Saml.as_str()))
            .filter(sso_logins::purpose.eq(Purpose::SignIn.as_str()))
            .filter(sso_logins::used_at.is_not_null())
            .filter(
                sso_logins::outcome
                    .retrieve_as_text("handoff")
                    .eq(hex::encode(token_hash(handoff))),
            )
            .filter(sso_logins::expires_at.gt(now)),
    )
    .returning((sso_logins::outcome, sso_logins::return_to))
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.and_then(|(outcome, return_to)| outcome.map(|outcome| (outcome, return_to))))
}

/// Removes, in every organization (on a `beacon_sweeper` connection, which sees only such
/// rows), sign-ins in flight an hour after they expired and expired replay-cache entries.
/// Answers how many of each went.
pub async fn sweep_expired(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<(usize, usize)> {
    let logins = diesel::delete(
        sso_logins::table.filter(sso_logins::expires_at.lt(now - Duration::hours(1))),
    )
    .execute(conn)
    .await?;
    let assertions =
        diesel::delete(saml_assertions::table.filter(saml_assertions::expires_at.lt(now)))
            .execute(conn)
            .await?;
    Ok((logins, assertions))
}

/// Remembers an accepted SAML assertion until `expires_at` (and forgets the organization's
/// expired ones). `false` when it was already remembered: a replay.
pub async fn remember_assertion(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    assertion_id: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::delete(
        saml_assertions::table
            .filter(saml_assertions::org_id.eq(org))
            .filter(saml_assertions::expires_at.lt(now)),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(saml_assertions::table)
        .values((
            saml_assertions::org_id.eq(org),
            saml_assertions::assertion_hash.eq(token_hash(assertion_id)),
            saml_assertions::expires_at.eq(expires_at),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|rows| rows == 1)
}

/// What the test sign-in `state_hash` received, once it came back.
pub async fn test_outcome(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    state_hash: &[u8],
) -> QueryResult<Option<serde_json::Value>> {
    sso_logins::table
        .filter(sso_logins::org_id.eq(org))
        .filter(sso_logins::state_hash.eq(state_hash))
        .filter(sso_logins::purpose.eq(Purpose::Test.as_str()))
        .select(sso_logins::outcome)
        .first::<Option<serde_json::Value>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// The user an identity-provider subject signed in as before.
pub async fn identity(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    kind: Kind,
    subject: &str,
) -> QueryResult<Option<Uuid>> {
    sso_identities::table
        .find((org, kind.as_str(), subject))
        .select(sso_identities::user_id)
        .first(conn)
        .await
        .optional()
}

/// Links `subject` to `user` (or notes the sign-in when it is linked already).
pub async fn link_identity(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    kind: Kind,
    subject: &str,
    user: UserId,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(sso_identities::table)
        .values((
            sso_identities::org_id.eq(org),
            sso_identities::kind.eq(kind.as_str()),
            sso_identities::subject.eq(subject),
            sso_identities::user_id.eq(user),
            sso_identities::created_at.eq(now),
            sso_identities::last_sign_in_at.eq(now),
        ))
        .on_conflict((
            sso_identities::org_id,
            sso_identities::kind,
            sso_identities::subject,
        ))
        .do_update()
        .set(sso_identities::last_sign_in_at.eq(now))
        .execute(conn)
        .await
        .map(drop)
}

/// Where an e-mail domain signs in: the organization that verified it, its enabled
/// connection kinds, and whether it requires SSO.
#[derive(Debug, Clone, QueryableByName)]
pub struct Realm {
    /// The organization.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub org_id: Uuid,
    /// Enabled connection kinds (stored names).
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    pub kinds: Vec<String>,
    /// Whether it requires SSO.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub enforced: bool,
}

/// Home-realm discovery for `domain` (any connection, any scope): the one cross-tenant read.
pub async fn realm(conn: &mut AsyncPgConnection, domain: &str) -> QueryResult<Option<Realm>> {
    diesel::sql_query("SELECT org_id, kinds, enforced FROM beacon_sso_realm($1)")
        .bind::<diesel::sql_types::Text, _>(domain)
        .get_result(conn)
        .await
        .optional()
}
