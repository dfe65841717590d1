//! Accounts: sign-up, e-mail verification, sign-in and out, password reset, the current user.

use chrono::Duration;
use poem::Request;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenant::audit::{self, Action, Entry, RequestContext};
use tenant::problem::ProblemKind;
use tenant::secrets::{hash_password, token_hash, verify_password};
use tenant::tables::user_tokens::{Consumed, Purpose};
use tenant::tables::{user_sessions, user_tokens, users};
use tenant::{Actor, DbError, OrgId, UserId};
use uuid::Uuid;
use worker::Job;
use worker::jobs::{SendPasswordReset, SendVerificationEmail};

use crate::auth::client_ip::client_ip;
use crate::auth::throttle::{
    EMAILS_PER_ADDRESS, LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, SIGNUPS_PER_IP, Throttle,
};
use crate::auth::{Auth, session_cookie};
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::request_context;
use crate::state::AppState;

/// How long a session lasts.
const SESSION_DAYS: i64 = 30;

/// Sign-up or sign-in credentials.
#[derive(Debug, Object)]
pub struct CredentialsIn {
    /// E-mail address.
    #[oai(validator(max_length = 254))]
    pub email: Text,
    /// Password, 8 to 128 characters.
    #[oai(validator(max_length = 128))]
    pub password: Text,
}

/// A token from an e-mailed link.
#[derive(Debug, Object)]
pub struct TokenIn {
    /// The token.
    #[oai(validator(max_length = 200))]
    pub token: Text,
}

/// An e-mail address.
#[derive(Debug, Object)]
pub struct EmailIn {
    /// E-mail address.
    #[oai(validator(max_length = 254))]
    pub email: Text,
}

/// A new password with its reset token.
#[derive(Debug, Object)]
pub struct PasswordResetIn {
    /// Token from the reset e-mail.
    #[oai(validator(max_length = 200))]
    pub token: Text,
    /// New password, 8 to 128 characters.
    #[oai(validator(max_length = 128))]
    pub password: Text,
}

/// A user.
#[derive(Debug, Object)]
pub struct UserOut {
    /// Id.
    pub id: Uuid,
    /// E-mail address.
    pub email: String,
    /// Whether the address is confirmed.
    pub email_verified: bool,
}

/// The signed-in session.
#[derive(Debug, Object)]
pub struct SessionOut {
    /// The user.
    pub user: UserOut,
    /// Send this as `X-CSRF-Token` on every cookie-authenticated write.
    pub csrf_token: String,
}

#[derive(ApiResponse)]
enum LoginResponse {
    /// Signed in; the session cookie is set.
    #[oai(status = 200)]
    Ok(Json<SessionOut>, #[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse)]
enum LogoutResponse {
    /// Signed out; the cookie is cleared.
    #[oai(status = 204)]
    NoContent(#[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse)]
enum Accepted {
    /// Accepted: if the address has an account, an e-mail is on its way.
    #[oai(status = 202)]
    Accepted,
}

/// Lower-cases and checks an e-mail address.
pub fn normalize_email(email: &str) -> ApiResult<String> {
    let email = email.trim().to_lowercase();
    if email.len() > 254
        || email.chars().any(char::is_control)
        || !email_address::EmailAddress::is_valid(&email)
    {
        return Err(ApiError::invalid(
            ProblemKind::InvalidEmail,
            "not a valid e-mail address",
        ));
    }
    Ok(email)
}

fn check_password(password: &str) -> ApiResult<()> {
    let length = password.chars().count();
    if !(8..=128).contains(&length) {
        return Err(ApiError::invalid(
            ProblemKind::WeakPassword,
            "the password must have 8 to 128 characters",
        ));
    }
    Ok(())
}

fn token_problem(consumed: Consumed, what: &str) -> ApiError {
    match consumed {
        Consumed::Expired => ApiError::new(
            poem::http::StatusCode::GONE,
            ProblemKind::TokenExpired,
            format!("this {what} link has expired; ask for a new one"),
        ),
        Consumed::AlreadyUsed => ApiError::new(
            poem::http::StatusCode::GONE,
            ProblemKind::TokenUsed,
            format!("this {what} link has already been used"),
        ),
        Consumed::Ok(_) | Consumed::Unknown => ApiError::bad_request(
            ProblemKind::TokenInvalid,
            format!("this {what} link is not valid"),
        ),
    }
}

/// A user as the API answers it.
pub fn user_out(user: &users::User) -> UserOut {
    UserOut {
        id: user.id,
        email: user.email.clone(),
        email_verified: user.email_verified_at.is_some(),
    }
}

/// A login attempt holding its reservations in the failure limits: given back when the
/// password was right (or the check never ran), kept as a failure otherwise.
struct LoginAttempt<'a> {
    throttle: &'a Throttle,
    account: String,
    ip: Option<String>,
    settled: bool,
}

impl<'a> LoginAttempt<'a> {
    fn reserve(throttle: &'a Throttle, account: String, ip: Option<String>) -> ApiResult<Self> {
        throttle
            .reserve(&LOGIN_FAILURES_PER_ACCOUNT, &account)
            .map_err(ApiError::too_many_requests)?;
        let mut attempt = Self {
            throttle,
            account,
            ip: None,
            settled: false,
        };
        if let Some(ip) = ip {
            throttle
                .reserve(&LOGIN_FAILURES_PER_IP, &ip)
                .map_err(ApiError::too_many_requests)?;
            attempt.ip = Some(ip);
        }
        Ok(attempt)
    }

    /// The password was wrong: the reservations stay counted.
    fn failed(mut self) {
        self.settled = true;
    }

    /// The password was right: the reservations are given back (on drop).
    fn succeeded(self) {}
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        self.throttle
            .release(&LOGIN_FAILURES_PER_ACCOUNT, &self.account);
        if let Some(ip) = &self.ip {
            self.throttle.release(&LOGIN_FAILURES_PER_IP, ip);
        }
    }
}

/// Account operations.
#[derive(Default)]
pub struct AuthApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Create an account and send a verification e-mail.
    #[oai(path = "/signup", method = "post", operation_id = "signup")]
    async fn signup(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<CredentialsIn>,
    ) -> ApiResult<Created<UserOut>> {
        let email = normalize_email(&body.email)?;
        check_password(&body.password)?;
        if let Some(ip) = client_ip(req, &state.trusted_proxies) {
            state
                .throttle
                .reserve(&SIGNUPS_PER_IP, &ip.to_string())
                .map_err(ApiError::too_many_requests)?;
        }
        let password = body.password.clone();
        let hash = state
            .password_hashing
            .run(move || hash_password(&password))
            .await?
            .map_err(ApiError::internal)?;
        let user = state
            .db
            .unscoped(async |conn| {
                let user = users::create(conn, &email, &hash).await?.ok_or_else(|| {
                    ApiError::conflict(
                        ProblemKind::EmailTaken,
                        "an account with this e-mail already exists; sign in or reset the password",
                    )
                })?;
                worker::queue::enqueue(
                    conn,
                    &Job::SendVerificationEmail(SendVerificationEmail { user_id: user.id }),
                )
                .await?;
                Ok::<_, ApiError>(user)
            })
            .await?;
        Ok(Created::Created(Json(user_out(&user))))
    }

    /// Confirm an e-mail address with the token from the verification e-mail.
    #[oai(path = "/verify-email", method = "post", operation_id = "verify_email")]
    async fn verify_email(
        &self,
        state: Data<&AppState>,
        body: Json<TokenIn>,
    ) -> ApiResult<NoContent> {
        let token = body.token.clone();
        state
            .db
            .unscoped(async |conn| {
                match user_tokens::consume(conn, &token, Purpose::VerifyEmail).await? {
                    Consumed::Ok(user_id) => Ok(users::mark_verified(conn, user_id).await?),
                    other => Err(token_problem(other, "verification")),
                }
            })
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Send the verification e-mail again (answers 202 whether or not the address exists).
    #[oai(
        path = "/resend-verification",
        method = "post",
        operation_id = "resend_verification"
    )]
    async fn resend_verification(
        &self,
        state: Data<&AppState>,
        body: Json<EmailIn>,
    ) -> ApiResult<Accepted> {
        let email = normalize_email(&body.email)?;
        state
            .throttle
            .reserve(&EMAILS_PER_ADDRESS, &hex::encode(token_hash(&email)))
            .map_err(ApiError::too_many_requests)?;
        state
            .db
            .unscoped(async |conn| {
                let user = users::find_by_email(conn, &email).await?;
                if let Some(user) = user.filter(|user| user.email_verified_at.is_none()) {
                    worker::queue::enqueue(
                        conn,
                        &Job::SendVerificationEmail(SendVerificationEmail { user_id: user.id }),
                    )
                    .await?;
                }
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Accepted::Accepted)
    }

    /// Sign in: sets the session cookie and returns the CSRF token.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<CredentialsIn>,
    ) -> ApiResult<LoginResponse> {
        // An address that cannot exist is simply a wrong login (and never reaches SQL).
        let email = normalize_email(&body.email).ok();
        let account = hex::encode(token_hash(email.as_deref().unwrap_or_default()));
        let ip = client_ip(req, &state.trusted_proxies).map(|ip| ip.to_string());
        // Each attempt takes one of the account's (and the address's) allowed failures before
        // the password is checked, and gives it back if it was right: concurrent guesses
        // cannot all pass a check made before any of them is counted.
        let attempt = LoginAttempt::reserve(&state.throttle, account, ip)?;
        let user = match &email {
            Some(email) => {
                state
                    .db
                    .unscoped(async |conn| {
                        Ok::<_, DbError>(users::find_by_email(conn, email).await?)
                    })
                    .await?
            }
            None => None,
        };
        let password = body.password.clone();
        let stored = user.as_ref().map(|user| user.password_hash.clone());
        // Verify against a real hash even for unknown accounts, so timing does not tell them apart.
        let matches = state
            .password_hashing
            .run(move || match stored {
                Some(hash) if hash != tenant::secrets::UNUSABLE_PASSWORD => {
                    verify_password(&password, &hash)
                }
                _ => {
                    let _ = verify_password(&password, &DUMMY_HASH);
                    false
                }
            })
            .await?;
        let known = user.as_ref().map(|user| user.id);
        let Some(user) = user.filter(|_| matches) else {
            attempt.failed();
            if let Some(user_id) = known {
                let context = request_context(req, &state);
                let user_id = tenant::UserId::from_uuid(user_id);
                let actor = Actor::System("sign_in");
                record_for_members(&state, &context, user_id, &actor, Action::UserSignInFailed)
                    .await?;
            }
            return Err(ApiError::unauthorized("wrong e-mail or password"));
        };
        attempt.succeeded();
        crate::sso::refuse_password(&state.db, tenant::UserId::from_uuid(user.id), &user.email)
            .await?;
        if user.email_verified_at.is_none() {
            return Err(ApiError::forbidden_kind(
                ProblemKind::EmailNotVerified,
                "confirm your e-mail address first; the link is in your inbox",
            ));
        }
        let user_id = user.id;
        let session = state
            .db
            .unscoped(async |conn| {
                Ok::<_, DbError>(
                    user_sessions::create(
                        conn,
                        tenant::UserId::from_uuid(user_id),
                        Duration::days(SESSION_DAYS),
                    )
                    .await?,
                )
            })
            .await?;
        let user_id = tenant::UserId::from_uuid(user_id);
        let context = request_context(req, &state);
        let actor = Actor::User(user_id);
        record_for_members(&state, &context, user_id, &actor, Action::UserSignedIn).await?;
        let secure = session_cookie::is_tls(req, state.secure_cookies);
        let cookie = session_cookie::set(&session.token, SESSION_DAYS * 86_400, secure);
        Ok(LoginResponse::Ok(
            Json(SessionOut {
                user: user_out(&user),
                csrf_token: session.csrf_token,
            }),
            cookie,
        ))
    }

    /// Sign out: ends the session and clears the cookie.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: Auth,
    ) -> ApiResult<LogoutResponse> {
        let user_id = auth.user()?;
        if let Some(token) = session_cookie::read(req) {
            state
                .db
                .unscoped(async |conn| Ok::<_, DbError>(user_sessions::delete(conn, &token).await?))
                .await?;
            let context = request_context(req, &state);
            let actor = Actor::User(user_id);
            record_for_members(&state, &context, user_id, &actor, Action::UserSignedOut).await?;
        }
        let secure = session_cookie::is_tls(req, state.secure_cookies);
        Ok(LogoutResponse::NoContent(session_cookie::clear(secure)))
    }

    /// Ask for a password reset e-mail (answers 202 whether or not the address exists).
    #[oai(
        path = "/password-reset",
        method = "post",
        operation_id = "request_password_reset"
    )]
    async fn request_password_reset(
        &self,
        state: Data<&AppState>,
        body: Json<EmailIn>,
    ) -> ApiResult<Accepted> {
        let email = normalize_email(&body.email)?;
        state
            .throttle
            .reserve(&EMAILS_PER_ADDRESS, &hex::encode(token_hash(&email)))
            .map_err(ApiError::too_many_requests)?;
        state
            .db
            .unscoped(async |conn| {
                if let Some(user) = users::find_by_email(conn, &email).await? {
                    worker::queue::enqueue(
                        conn,
                        &Job::SendPasswordReset(SendPasswordReset { user_id: user.id }),
                    )
                    .await?;
                }
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Accepted::Accepted)
    }

    /// Set a new password with the token from the reset e-mail; signs out every session.
    #[oai(
        path = "/password-reset/confirm",
        method = "post",
        operation_id = "confirm_password_reset"
    )]
    async fn confirm_password_reset(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<PasswordResetIn>,
    ) -> ApiResult<NoContent> {
        check_password(&body.password)?;
        let password = body.password.clone();
        let hash = state
            .password_hashing
            .run(move || hash_password(&password))
            .await?
            .map_err(ApiError::internal)?;
        let token = body.token.clone();
        let user_id = state
            .db
            .unscoped(async |conn| {
                match user_tokens::consume(conn, &token, Purpose::ResetPassword).await? {
                    Consumed::Ok(user_id) => {
                        users::set_password_hash(conn, user_id, &hash).await?;
                        user_tokens::revoke_all(
                            conn,
                            tenant::UserId::from_uuid(user_id),
                            Purpose::ResetPassword,
                        )
                        .await?;
                        // The link proves control of the address.
                        users::mark_verified(conn, user_id).await?;
                        user_sessions::delete_all_for_user(
                            conn,
                            tenant::UserId::from_uuid(user_id),
                        )
                        .await?;
                        Ok(tenant::UserId::from_uuid(user_id))
                    }
                    other => Err(token_problem(other, "password reset")),
                }
            })
            .await?;
        let context = request_context(req, &state);
        let actor = Actor::User(user_id);
        record_for_members(&state, &context, user_id, &actor, Action::UserPasswordReset).await?;
        Ok(NoContent::NoContent)
    }

    /// Delete your account (signed in, with your password): you leave every organization, and
    /// your sessions end. Refused (409 `last_owner`, naming them) while you are the last owner
    /// of an organization: hand it over or erase it first.
    #[oai(path = "/me", method = "delete", operation_id = "delete_account")]
    async fn delete_account(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: Auth,
        body: Json<crate::routes::account::DeleteAccountIn>,
    ) -> ApiResult<LogoutResponse> {
        let cookie = crate::routes::account::delete_account(&state, req, auth, &body).await?;
        Ok(LogoutResponse::NoContent(cookie))
    }

    /// The signed-in user.
    #[oai(path = "/me", method = "get", operation_id = "get_current_user")]
    async fn me(&self, state: Data<&AppState>, auth: Auth) -> ApiResult<Json<UserOut>> {
        let user_id = auth.user()?.uuid();
        let user = state
            .db
            .unscoped(async |conn| Ok::<_, DbError>(users::find(conn, user_id).await?))
            .await?
            .ok_or_else(|| ApiError::unauthorized("the account no longer exists"))?;
        Ok(Json(user_out(&user)))
    }

    /// The browser session behind the cookie: the user and the CSRF token its writes must
    /// send. Lets a reloaded dashboard carry on without signing in again. Other origins
    /// cannot read the answer (no CORS), so this does not leak the token.
    #[oai(path = "/session", method = "get", operation_id = "get_session")]
    async fn session(&self, state: Data<&AppState>, req: &Request) -> ApiResult<Json<SessionOut>> {
        let expired = || ApiError::unauthorized("the session has expired; sign in again");
        let token = session_cookie::read(req).ok_or_else(expired)?;
        let (session, user) = state
            .db
            .unscoped(async |conn| {
                let Some(session) = user_sessions::find_valid(conn, &token).await? else {
                    return Ok::<_, DbError>(None);
                };
                let user = users::find(conn, session.user_id).await?;
                Ok(user.map(|user| (session, user)))
            })
            .await?
            .ok_or_else(expired)?;
        Ok(Json(SessionOut {
            user: user_out(&user),
            csrf_token: session.csrf_token,
        }))
    }
}

/// An argon2id hash of a random string, verified against when the account does not exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&tenant::secrets::new_token()).unwrap_or_default());

/// Records `action` about `user` in the audit log of every organization they are a member of
/// (sign-ins, sign-outs and password resets belong to no one organization). Each record is
/// written in that organization's own scope, after the change it records.
async fn record_for_members(
    state: &AppState,
    context: &RequestContext,
    user: UserId,
    actor: &Actor,
    action: Action,
) -> ApiResult<()> {
    for (org, _) in crate::routes::account::memberships_of(state, user).await? {
        let org = OrgId::from_uuid(org.org_id);
        state
            .db
            .scoped_as_for(org, actor, context, async |conn| {
                Ok::<_, DbError>(audit::record(conn, org, Entry::new(action, user)).await?)
            })
            .await?;
    }
    Ok(())
}
