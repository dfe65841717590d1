//! Signing in through single sign-on: the login page's e-mail-first start (home-realm
//! discovery), the OIDC provider's way back (its callback), and what every kind shares once
//! the provider's answer checked out: admission, the SSO session, the failure record, and a
//! test sign-in's outcome. SAML's way back is [`crate::routes::saml_login`].
//!
//! The start stores a state, nonce and PKCE verifier in the organization's scope and puts the
//! state in a short-lived cookie, so the callback takes only a state that this browser started
//! (login CSRF), once, within ten minutes. A browser that fails at the callback is sent back
//! to the login page with the reason (`/login?sso_error=<type>&sso_detail=…`); other clients get
//! the problem document.

use chrono::Duration;
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::secrets::token_hash;
use tenant::tables::memberships::Role;
use tenant::tables::sso::{self, Kind, NewLogin, Purpose};
use tenant::tables::user_sessions;
use tenant::{Actor, DbError, OrgId};
use uuid::Uuid;

use crate::auth::client_ip::client_ip;
use crate::auth::session_cookie;
use crate::auth::throttle::SSO_STARTS_PER_IP;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::auth::normalize_email;
use crate::routes::sso::{oidc_redirect_url, secret_context};
use crate::routes::text::Text;
use crate::scope::request_context;
use crate::sso::oidc::{OidcSettings, Provider};
use crate::sso::saml::{self, SpEndpoints};
use crate::sso::{SsoError, admit};
use crate::state::AppState;

/// The cookie that ties a sign-in's state to the browser that started it.
const STATE_COOKIE: &str = "beacon_sso_state";
/// How long a started sign-in may take.
const LOGIN_MINUTES: i64 = 10;

/// Where someone wants to sign in.
#[derive(Debug, Object)]
pub struct SsoStartIn {
    /// Their e-mail address; its domain names the organization.
    #[oai(validator(max_length = 254))]
    pub email: Text,
    /// Where the dashboard goes afterwards: a path on Beacon (default `/`).
    #[oai(validator(max_length = 500))]
    pub return_to: Option<Text>,
}

/// Where to send the browser.
#[derive(Debug, Object)]
pub struct SsoStartBody {
    /// The identity provider's sign-in page.
    pub redirect_url: String,
    /// For a connection test: the id to read its outcome with.
    pub test_id: Option<String>,
}

/// A started sign-in.
#[derive(ApiResponse)]
pub enum StartOut {
    /// Send the browser to `redirect_url`; the cookie ties the sign-in to this browser.
    #[oai(status = 200)]
    Ok(Json<SsoStartBody>, #[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse)]
pub(crate) enum CallbackOut {
    /// Signed in (the session cookie is set), or sent back to the login page with the
    /// reason: go to `Location`.
    #[oai(status = 303)]
    SeeOther(
        #[oai(header = "Location")] String,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
}

/// Starts a sign-in at `org`'s `kind` provider for `purpose`: the provider's URL, and the
/// cookie that ties the sign-in to this browser.
pub async fn begin(
    state: &AppState,
    req: &Request,
    org: OrgId,
    kind: Kind,
    purpose: Purpose,
    return_to: Option<String>,
) -> ApiResult<StartOut> {
    let (url, sign_in) = open_sign_in(state, req, org, kind, purpose, return_to).await?;
    Ok(StartOut::Ok(
        Json(SsoStartBody {
            redirect_url: url,
            test_id: (purpose == Purpose::Test).then(|| hex::encode(token_hash(&sign_in))),
        }),
        state_cookie(state, req, &sign_in),
    ))
}

/// Opens a sign-in at `org`'s `kind` provider: where to send the browser, and the sign-in's
/// state (for [`state_cookie`]).
pub(crate) async fn open_sign_in(
    state: &AppState,
    req: &Request,
    org: OrgId,
    kind: Kind,
    purpose: Purpose,
    return_to: Option<String>,
) -> ApiResult<(String, String)> {
    let not_configured = || {
        ApiError::new(
            poem::http::StatusCode::NOT_FOUND,
            ProblemKind::SsoNotConfigured,
            "this organization has no enabled single sign-on connection",
        )
    };
    let connection = state
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(sso::connection(conn, org, kind).await?)
        })
        .await?
        .filter(|c| c.enabled || purpose == Purpose::Test)
        .ok_or_else(not_configured)?;
    let base = state.app_url(req)?;
    let (url, login) = match kind {
        Kind::Oidc => {
            let settings = settings_of(&connection)?;
            let secret = open_secret(state, org, &connection)?;
            let redirect = oidc_redirect_url(&base, org.uuid());
            let provider =
                Provider::discover(&state.outbound, &settings, secret, &redirect).await?;
            let started = provider.start(&settings.scopes);
            let login = NewLogin {
                state: started.state,
                kind,
                purpose,
                nonce: started.nonce,
                pkce_verifier: Some(started.pkce_verifier),
                return_to,
                ttl: Duration::minutes(LOGIN_MINUTES),
            };
            (started.url, login)
        }
        Kind::Saml => {
            let settings = crate::routes::saml::settings_of(&connection)?;
            let relay_state = tenant::secrets::new_token();
            let sp = SpEndpoints::new(&base, org.uuid());
            let (url, request_id) = saml::authn_request(&settings, &sp, &relay_state)?;
            let login = NewLogin {
                state: relay_state,
                kind,
                purpose,
                nonce: request_id,
                pkce_verifier: None,
                return_to,
                ttl: Duration::minutes(LOGIN_MINUTES),
            };
            (url, login)
        }
    };
    let now = state.clock.now();
    let login = &login;
    state
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(sso::start_login(conn, org, login, now).await?)
        })
        .await?;
    Ok((url, login.state.clone()))
}

/// The cookie that ties the sign-in with `sign_in_state` to this browser.
pub(crate) fn state_cookie(state: &AppState, req: &Request, sign_in_state: &str) -> String {
    sign_in_cookie(state, req, STATE_COOKIE, sign_in_state)
}

/// A short-lived cookie `name` of a sign-in in flight, sent to Beacon's SSO paths only.
pub(crate) fn sign_in_cookie(state: &AppState, req: &Request, name: &str, value: &str) -> String {
    let secure = session_cookie::is_tls(req, state.secure_cookies);
    format!(
        "{name}={value}; Path=/api/v1/sso/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        LOGIN_MINUTES * 60,
        if secure { "; Secure" } else { "" }
    )
}

/// Whether `sent` is the state this browser's cookie holds.
pub(crate) fn is_this_browsers(req: &Request, sent: &str) -> bool {
    session_cookie::read_named(req, STATE_COOKIE).as_deref() == Some(sent)
}

fn settings_of(connection: &sso::Connection) -> Result<OidcSettings, SsoError> {
    serde_json::from_value(connection.settings.clone())
        .map_err(|e| SsoError::Settings(format!("the stored connection is unreadable: {e}")))
}

fn open_secret(
    state: &AppState,
    org: OrgId,
    connection: &sso::Connection,
) -> Result<Option<String>, SsoError> {
    connection
        .secret
        .as_deref()
        .map(|sealed| {
            state
                .sealing_key
                .open(sealed, &secret_context(org))
                .map_err(|e| SsoError::Settings(e.to_string()))
                .and_then(|plain| {
                    String::from_utf8(plain)
                        .map_err(|_| SsoError::Settings("the stored secret is not text".into()))
                })
        })
        .transpose()
}

/// A path on Beacon to go to afterwards, never another site.
fn clean_return(path: Option<&str>) -> ApiResult<Option<String>> {
    match path.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => {
            Ok(Some(p.to_owned()))
        }
        Some(_) => Err(ApiError::invalid(
            ProblemKind::InvalidValue,
            "`return_to` must be a path on Beacon, such as /orgs",
        )),
    }
}

/// Single sign-on for people signing in.
#[derive(Default)]
pub struct SsoLoginApi;

#[OpenApi(tag = "ApiTags::Auth")]
impl SsoLoginApi {
    /// Start single sign-on for an e-mail address (home-realm discovery): the organization
    /// that verified the address's domain sends the browser to its identity provider. 404
    /// `sso_not_configured` when the domain has none: sign in with a password.
    #[oai(
        path = "/api/v1/auth/sso/start",
        method = "post",
        operation_id = "start_sso"
    )]
    async fn start(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<SsoStartIn>,
    ) -> ApiResult<StartOut> {
        let email = normalize_email(&body.email)?;
        let return_to = clean_return(body.return_to.as_deref())?;
        if let Some(ip) = client_ip(req, &state.trusted_proxies) {
            state
                .throttle
                .reserve(&SSO_STARTS_PER_IP, &ip.to_string())
                .map_err(ApiError::too_many_requests)?;
        }
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let realm = state
            .db
            .unscoped(async |conn| Ok::<_, DbError>(sso::realm(conn, &domain).await?))
            .await?
            .and_then(|realm| {
                // An organization with both kinds signs in through OIDC.
                let kind = [Kind::Oidc, Kind::Saml]
                    .into_iter()
                    .find(|kind| realm.kinds.iter().any(|k| k == kind.as_str()))?;
                Some((realm, kind))
            })
            .ok_or_else(|| {
                ApiError::new(
                    poem::http::StatusCode::NOT_FOUND,
                    ProblemKind::SsoNotConfigured,
                    format!("{domain} has no single sign-on; sign in with your password"),
                )
            })?;
        let (realm, kind) = realm;
        let org = OrgId::from_uuid(realm.org_id);
        let now = state.clock.now();
        let entitlements = state
            .db
            .scoped(org, async |conn| {
                Ok::<_, ApiError>(state.billing.entitlements(conn, org, now).await?)
            })
            .await?;
        if entitlements.require(billing::Feature::Sso).is_err() {
            return Err(ApiError::new(
                poem::http::StatusCode::NOT_FOUND,
                ProblemKind::SsoNotConfigured,
                "the organization's plan does not include single sign-on; sign in with your password",
            ));
        }
        begin(&state, req, org, kind, Purpose::SignIn, return_to).await
    }

    /// Where the OIDC provider sends the browser back (register this URL at the provider).
    /// Signs in and goes to the page the sign-in started from; a test sign-in goes back to
    /// the SSO settings instead.
    #[oai(
        path = "/api/v1/sso/oidc/:org_id/callback",
        method = "get",
        operation_id = "oidc_callback"
    )]
    async fn callback(
        &self,
        req: &Request,
        org_id: Path<Uuid>,
        #[oai(validator(max_length = 4096))] code: Query<Option<String>>,
        #[oai(name = "state", validator(max_length = 512))] sent_state: Query<Option<String>>,
        #[oai(validator(max_length = 256))] error: Query<Option<String>>,
        #[oai(validator(max_length = 1024))] error_description: Query<Option<String>>,
    ) -> ApiResult<CallbackOut> {
        let state = crate::auth::state_of(req)?;
        let org = OrgId::from_uuid(*org_id);
        let outcome = finish(
            state,
            req,
            org,
            code.as_deref(),
            sent_state.as_deref(),
            error.as_deref().map(|e| (e, error_description.as_deref())),
        )
        .await;
        for_browser(req, outcome)
    }
}

/// A browser that failed goes back to the login page with the reason
/// (`/login?sso_error=<type>&sso_detail=…`); other clients get the problem document.
pub(crate) fn for_browser(
    req: &Request,
    outcome: ApiResult<CallbackOut>,
) -> ApiResult<CallbackOut> {
    match outcome {
        Err(problem) if wants_html(req) => {
            let login = format!(
                "/login?sso_error={}&sso_detail={}",
                problem.kind.as_str(),
                url::form_urlencoded::byte_serialize(problem.detail.as_bytes()).collect::<String>()
            );
            Ok(CallbackOut::SeeOther(login, None))
        }
        other => other,
    }
}

fn wants_html(req: &Request) -> bool {
    req.headers()
        .get(poem::http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The callback's work: the state (this browser's, once), the provider's answer, then
/// admission and the session; a refusal after a real state is recorded in the audit log.
async fn finish(
    state: &AppState,
    req: &Request,
    org: OrgId,
    code: Option<&str>,
    sent_state: Option<&str>,
    provider_error: Option<(&str, Option<&str>)>,
) -> ApiResult<CallbackOut> {
    let now = state.clock.now();
    let sent_state = sent_state
        .filter(|s| is_this_browsers(req, s))
        .ok_or_else(|| {
            SsoError::State(
                "this sign-in was not started in this browser, or took too long; start again"
                    .into(),
            )
        })?;
    let login = state
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(sso::take_login(conn, org, Kind::Oidc, sent_state, now).await?)
        })
        .await?
        .ok_or_else(|| {
            SsoError::State("this sign-in has expired or was already used; start again".into())
        })?;
    let result = verify(state, req, org, code, provider_error, &login, now).await;
    if login.is_test() {
        return record_test(state, req, org, &login.state_hash, result.map(|(i, _)| i)).await;
    }
    sign_in(
        state,
        req,
        org,
        Kind::Oidc,
        result.map_err(ApiError::from),
        login.return_to,
    )
    .await
}

/// Keeps what a test sign-in received (or why it failed) for the owner, and sends the browser
/// back to the SSO settings with the test's id.
pub(crate) async fn record_test(
    state: &AppState,
    req: &Request,
    org: OrgId,
    state_hash: &[u8],
    result: Result<crate::sso::Identity, SsoError>,
) -> ApiResult<CallbackOut> {
    let outcome = match &result {
        Ok(identity) => json!({ "claims": identity.received, "subject": identity.subject,
            "email": identity.email, "groups": identity.groups }),
        Err(error) => {
            json!({ "error": { "type": error.kind().as_str(), "detail": error.to_string() } })
        }
    };
    let context = request_context(req, state);
    state
        .db
        .scoped_as_for(org, &Actor::System("sso"), &context, async |conn| {
            Ok::<_, DbError>(sso::record_outcome(conn, org, state_hash, &outcome).await?)
        })
        .await?;
    let back = format!(
        "/orgs/{}/sso?sso_test={}",
        org.uuid(),
        hex::encode(state_hash)
    );
    Ok(CallbackOut::SeeOther(back, None))
}

/// Records a refused sign-in through `kind` in the audit log.
pub(crate) async fn record_failure(
    state: &AppState,
    req: &Request,
    org: OrgId,
    kind: Kind,
    problem: &ApiError,
) -> ApiResult<()> {
    let reason = json!({ "type": problem.kind.as_str(), "detail": problem.detail });
    let context = request_context(req, state);
    state
        .db
        .scoped_as_for(org, &Actor::System("sso"), &context, async |conn| {
            Ok::<_, DbError>(
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::UserSsoSignInFailed, kind.as_str())
                        .with(Changes::default().set("reason", serde_json::Value::Null, reason)),
                )
                .await?,
            )
        })
        .await?;
    Ok(())
}

/// Admits who the provider vouched for (or records why not), opens their SSO session, and
/// sends the browser where the sign-in started from.
pub(crate) async fn sign_in(
    state: &AppState,
    req: &Request,
    org: OrgId,
    kind: Kind,
    vouched: Result<(crate::sso::Identity, Role), ApiError>,
    return_to: Option<String>,
) -> ApiResult<CallbackOut> {
    let now = state.clock.now();
    let context = request_context(req, state);
    let actor = Actor::System("sso");
    let admitted = match vouched {
        Ok((identity, default_role)) => {
            state
                .db
                .scoped_as_for(org, &actor, &context, async |conn| {
                    admit(conn, org, kind, default_role, &identity, now).await
                })
                .await
        }
        Err(error) => Err(error),
    };
    let admitted = match admitted {
        Ok(admitted) => admitted,
        Err(problem) => {
            record_failure(state, req, org, kind, &problem).await?;
            return Err(problem);
        }
    };
    let hours = state
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(sso::policy(conn, org).await?)
        })
        .await?
        .session_hours;
    let session = state
        .db
        .unscoped(async |conn| {
            Ok::<_, DbError>(
                user_sessions::create_with(
                    conn,
                    admitted.user_id,
                    Duration::hours(i64::from(hours)),
                    Some(org),
                )
                .await?,
            )
        })
        .await?;
    let secure = session_cookie::is_tls(req, state.secure_cookies);
    let cookie = session_cookie::set(&session.token, i64::from(hours) * 3600, secure);
    let to = return_to.unwrap_or_else(|| format!("/orgs/{}", org.uuid()));
    Ok(CallbackOut::SeeOther(to, Some(cookie)))
}

/// What the provider vouched for, checked; and the connection's default role.
async fn verify(
    state: &AppState,
    req: &Request,
    org: OrgId,
    code: Option<&str>,
    provider_error: Option<(&str, Option<&str>)>,
    login: &sso::Login,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(crate::sso::Identity, Role), SsoError> {
    if let Some((error, description)) = provider_error {
        return Err(SsoError::Provider(format!(
            "the identity provider answered {error}{}",
            description.map(|d| format!(": {d}")).unwrap_or_default()
        )));
    }
    let code = code.ok_or_else(|| SsoError::Provider("the provider sent no code".into()))?;
    let connection = state
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(sso::connection(conn, org, Kind::Oidc).await?)
        })
        .await
        .map_err(|e| SsoError::Provider(e.to_string()))?
        .filter(|c| c.enabled || login.is_test())
        .ok_or_else(|| SsoError::Settings("the connection was removed or turned off".into()))?;
    let settings = settings_of(&connection)?;
    let secret = open_secret(state, org, &connection)?;
    let base = state
        .app_url(req)
        .map_err(|e| SsoError::Settings(e.detail))?;
    let redirect = oidc_redirect_url(&base, org.uuid());
    let provider = Provider::discover(&state.outbound, &settings, secret, &redirect).await?;
    let verifier = login
        .pkce_verifier
        .as_deref()
        .ok_or_else(|| SsoError::State("the sign-in has no PKCE verifier".into()))?;
    let identity = provider
        .finish(
            &state.outbound,
            &settings,
            code,
            verifier,
            &login.nonce,
            now,
        )
        .await?;
    let default_role = Role::parse(&connection.default_role).unwrap_or(Role::Member);
    Ok((identity, default_role))
}
