//! A user's own account: export everything Beacon keeps about them, and delete the account.
//! Deleting is refused while they are the last owner of an organization (the organization
//! would be left without anyone able to manage, pay for or erase it); each organization they
//! leave records it in its audit log.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::secrets::verify_password;
use tenant::tables::memberships::{self, Role};
use tenant::tables::{organizations, user_sessions, users};
use tenant::{Actor, DbError, OrgId, UserId};
use uuid::Uuid;

use crate::auth::{Auth, session_cookie};
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::auth::{UserOut, user_out};
use crate::routes::text::Text;
use crate::scope::request_context;
use crate::state::AppState;

/// One of the user's memberships.
#[derive(Debug, Object)]
pub struct AccountMembershipOut {
    /// Organization.
    pub org_id: Uuid,
    /// Its name.
    pub org_name: String,
    /// The user's role there.
    pub role: String,
}

/// One of the user's sessions (never its token).
#[derive(Debug, Object)]
pub struct AccountSessionOut {
    /// Signed in at.
    pub created_at: DateTime<Utc>,
    /// Ends at.
    pub expires_at: DateTime<Utc>,
}

/// Everything Beacon keeps about the signed-in user.
#[derive(Debug, Object)]
pub struct AccountExportOut {
    /// The account.
    pub user: UserOut,
    /// Signed up at.
    pub created_at: DateTime<Utc>,
    /// Address confirmed at.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Organizations and roles.
    pub memberships: Vec<AccountMembershipOut>,
    /// Live sessions.
    pub sessions: Vec<AccountSessionOut>,
}

/// Confirms deleting the account.
#[derive(Debug, Object)]
pub struct DeleteAccountIn {
    /// The account's password.
    #[oai(validator(max_length = 1024))]
    pub password: Text,
}

/// The user's organizations with their role (every page of them).
pub async fn memberships_of(
    state: &AppState,
    user: UserId,
) -> ApiResult<Vec<(organizations::Organization, String)>> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .db
            .user_scoped(user, async |conn| {
                Ok::<_, DbError>(
                    organizations::list_for_user(conn, user, after, tenant::tables::MAX_PAGE)
                        .await?,
                )
            })
            .await?;
        let done = (page.len() as i64) < tenant::tables::MAX_PAGE;
        after = page.last().map(|(org, _)| org.org_id);
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// Account operations.
#[derive(Default)]
pub struct AccountApi;

#[OpenApi(prefix_path = "/api/v1/auth/me", tag = "ApiTags::Auth")]
impl AccountApi {
    /// Everything Beacon keeps about you: the account, your organizations and roles, and your
    /// live sessions (data-subject access; signed in).
    #[oai(path = "/export", method = "get", operation_id = "export_account")]
    async fn export(
        &self,
        state: Data<&AppState>,
        auth: Auth,
    ) -> ApiResult<Json<AccountExportOut>> {
        let user_id = auth.user()?;
        let (user, sessions) = state
            .db
            .unscoped(async |conn| {
                let user = users::find(conn, user_id.uuid()).await?;
                let sessions = user_sessions::list_for_user(conn, user_id).await?;
                Ok::<_, DbError>((user, sessions))
            })
            .await?;
        let user = user.ok_or_else(|| ApiError::unauthorized("the account no longer exists"))?;
        let memberships = memberships_of(&state, user_id)
            .await?
            .into_iter()
            .map(|(org, role)| AccountMembershipOut {
                org_id: org.org_id,
                org_name: org.name,
                role,
            })
            .collect();
        Ok(Json(AccountExportOut {
            user: user_out(&user),
            created_at: user.created_at,
            email_verified_at: user.email_verified_at,
            memberships,
            sessions: sessions
                .into_iter()
                .map(|(created_at, expires_at)| AccountSessionOut {
                    created_at,
                    expires_at,
                })
                .collect(),
        }))
    }
}

/// Deletes the signed-in user's account (`DELETE /api/v1/auth/me`, served by the auth API
/// because it shares that path): see [`crate::routes::auth`].
pub async fn delete_account(
    state: &AppState,
    req: &Request,
    auth: Auth,
    body: &DeleteAccountIn,
) -> ApiResult<String> {
    let user_id = auth.user()?;
    let user = state
        .db
        .unscoped(async |conn| Ok::<_, DbError>(users::find(conn, user_id.uuid()).await?))
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account no longer exists"))?;
    let password = body.password.clone();
    let stored = user.password_hash.clone();
    let matches = state
        .password_hashing
        .run(move || verify_password(&password, &stored))
        .await?;
    if !matches {
        return Err(ApiError::invalid(
            ProblemKind::ConfirmationMismatch,
            "the password is not right; the account was not deleted",
        ));
    }
    // Checked for every organization before anything changes.
    let orgs = memberships_of(state, user_id).await?;
    let mut last_owned = Vec::new();
    for (org, role) in &orgs {
        if role != Role::Owner.as_str() {
            continue;
        }
        let scoped = OrgId::from_uuid(org.org_id);
        let owners = state
            .db
            .scoped(scoped, async |conn| {
                Ok::<_, DbError>(memberships::lock_and_count_owners(conn, scoped).await?)
            })
            .await?;
        if owners <= 1 {
            last_owned.push(org.name.clone());
        }
    }
    if !last_owned.is_empty() {
        return Err(ApiError::conflict(
            ProblemKind::LastOwner,
            format!(
                "you are the last owner of {}: make someone else an owner, or erase the \
                     organization, before deleting your account",
                last_owned.join(", ")
            ),
        ));
    }
    let context = request_context(req, state);
    let actor = Actor::User(user_id);
    for (org, _) in &orgs {
        let scoped = OrgId::from_uuid(org.org_id);
        state
            .db
            .scoped_as_for(scoped, &actor, &context, async |conn| {
                let owners = memberships::lock_and_count_owners(conn, scoped).await?;
                let Some(role) = memberships::lock_role(conn, scoped, user_id).await? else {
                    return Ok(());
                };
                if role == Role::Owner && owners <= 1 {
                    return Err(ApiError::conflict(
                        ProblemKind::LastOwner,
                        "an organization's other owners left meanwhile; try again",
                    ));
                }
                memberships::remove(conn, scoped, user_id).await?;
                let changes = Changes::deleted(json!({ "role": role.as_str() }));
                audit::record(
                    conn,
                    scoped,
                    Entry::new(Action::UserDeleted, user_id).with(changes),
                )
                .await?;
                Ok::<_, ApiError>(())
            })
            .await?;
    }
    state
        .db
        .unscoped(async |conn| Ok::<_, DbError>(users::delete(conn, user_id.uuid()).await?))
        .await?;
    let secure = session_cookie::is_tls(req, state.secure_cookies);
    Ok(session_cookie::clear(secure))
}
