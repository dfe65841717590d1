//! Beacon as a SAML service provider: its metadata, the ACS the identity provider posts the
//! response to (HTTP-POST binding), and the step that signs the browser in.
//!
//! The ACS is a cross-site POST, which carries no `SameSite=Lax` cookie, so it cannot tell
//! which browser started the sign-in. It therefore signs no one in: it takes the sign-in its
//! `RelayState` names (once), checks the response against it
//! ([`crate::sso::saml::verify_response`]), refuses a replayed assertion, keeps the checked
//! identity on that sign-in with the hash of a fresh handoff token, gives the posting browser
//! that token in a cookie, and sends it (a top-level GET, which carries cookies) to
//! `…/finish`. The finishing step signs in only a browser holding both the sign-in's state
//! cookie (it started the sign-in) and the handoff token (it posted the answer). A response
//! pushed into someone else's browser (login CSRF) lacks the first; a sign-in started by an
//! attacker and answered by a victim at the IdP lacks the second.
//!
//! IdP-initiated sign-in (a response Beacon did not ask for) is refused unless the owner turned
//! it on. Even then the unsolicited assertion is only checked and spent: the browser that
//! posted it is sent to start a sign-in of its own, which the IdP answers for whoever is signed
//! in there.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Form, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use tenant::problem::ProblemKind;
use tenant::tables::memberships::Role;
use tenant::tables::sso::{self, Kind, Purpose};
use tenant::{DbError, OrgId};
use uuid::Uuid;

use crate::auth::client_ip::client_ip;
use crate::auth::session_cookie;
use crate::auth::throttle::SAML_RESPONSES_PER_IP;
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::saml::settings_of;
use crate::routes::sso_login::{
    CallbackOut, for_browser, is_this_browsers, open_sign_in, record_failure, record_test, sign_in,
    sign_in_cookie, state_cookie,
};
use crate::sso::saml::{self, SamlSettings, SpEndpoints, Verified};
use crate::sso::{Identity, SsoError};
use crate::state::AppState;

/// The longest `SAMLResponse` taken (base64: about 190 KiB of XML).
const MAX_RESPONSE_CHARS: usize = 256 * 1024;
/// The largest ACS body (the form-encoded response and relay state), whatever
/// `--max-body-bytes` says.
pub const MAX_ACS_BYTES: usize = 320 * 1024;
/// The cookie holding the token of the browser that posted a response to the ACS.
const HANDOFF_COOKIE: &str = "beacon_sso_handoff";

/// What the identity provider posts (HTTP-POST binding).
#[derive(Debug, Object, Deserialize)]
pub struct AcsForm {
    /// The SAML response, base64.
    #[oai(rename = "SAMLResponse")]
    #[serde(rename = "SAMLResponse")]
    pub saml_response: String,
    /// The state Beacon sent with its AuthnRequest.
    #[oai(rename = "RelayState")]
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
}

#[derive(ApiResponse)]
enum MetadataOut {
    /// Beacon's SAML SP metadata for this organization.
    #[oai(status = 200, content_type = "application/samlmetadata+xml")]
    Ok(PlainText<String>),
}

/// A sign-in the ACS took, with what it needs.
struct Taken {
    login: Option<sso::Login>,
    settings: SamlSettings,
    default_role: Role,
}

/// Beacon as a SAML service provider.
#[derive(Default)]
pub struct SamlLoginApi;

#[OpenApi(tag = "ApiTags::Auth")]
impl SamlLoginApi {
    /// Beacon's SP metadata for the organization: its entity ID (this URL) and ACS. Give it to
    /// the identity provider.
    #[oai(
        path = "/api/v1/sso/saml/:org_id/metadata",
        method = "get",
        operation_id = "saml_metadata"
    )]
    async fn metadata(
        &self,
        state: Data<&AppState>,
        req: &Request,
        org_id: Path<Uuid>,
    ) -> ApiResult<MetadataOut> {
        let sp = SpEndpoints::new(&state.app_url(req)?, *org_id);
        Ok(MetadataOut::Ok(PlainText(sp.metadata_xml())))
    }

    /// The assertion consumer service (HTTP-POST binding): checks the response and sends the
    /// browser on to finish signing in (or, for a test sign-in, back to the SSO settings).
    #[oai(
        path = "/api/v1/sso/saml/:org_id/acs",
        method = "post",
        operation_id = "saml_acs"
    )]
    async fn acs(
        &self,
        req: &Request,
        org_id: Path<Uuid>,
        form: Form<AcsForm>,
    ) -> ApiResult<CallbackOut> {
        let state = crate::auth::state_of(req)?;
        let org = OrgId::from_uuid(*org_id);
        for_browser(req, consume(state, req, org, form.0).await)
    }

    /// Signs in the browser that started the SAML sign-in the ACS checked (its state cookie
    /// must match `state`), once.
    #[oai(
        path = "/api/v1/sso/saml/:org_id/finish",
        method = "get",
        operation_id = "saml_finish"
    )]
    async fn finish(
        &self,
        req: &Request,
        org_id: Path<Uuid>,
        #[oai(name = "state", validator(max_length = 512))] sent_state: Query<String>,
    ) -> ApiResult<CallbackOut> {
        let state = crate::auth::state_of(req)?;
        let org = OrgId::from_uuid(*org_id);
        for_browser(req, hand_over(state, req, org, &sent_state).await)
    }
}

/// The ACS's work.
async fn consume(
    state: &AppState,
    req: &Request,
    org: OrgId,
    form: AcsForm,
) -> ApiResult<CallbackOut> {
    if form.saml_response.len() > MAX_RESPONSE_CHARS {
        return Err(ApiError::new(
            poem::http::StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::PayloadTooLarge,
            format!("a SAMLResponse is at most {MAX_RESPONSE_CHARS} characters"),
        ));
    }
    if let Some(ip) = client_ip(req, &state.trusted_proxies) {
        state
            .throttle
            .reserve(&SAML_RESPONSES_PER_IP, &ip.to_string())
            .map_err(ApiError::too_many_requests)?;
    }
    let now = state.clock.now();
    let relay_state = form.relay_state.filter(|r| !r.is_empty() && r.len() <= 512);
    let taken = take(state, org, relay_state.as_deref(), now).await?;
    let sp = SpEndpoints::new(
        &state
            .app_url(req)
            .map_err(|e| SsoError::Settings(e.detail))?,
        org.uuid(),
    );
    let request_id = taken.login.as_ref().map(|login| login.nonce.clone());
    let settings = taken.settings.clone();
    let checked = tokio::task::spawn_blocking(move || {
        saml::verify_response(&settings, &sp, &form.saml_response, request_id.as_deref())
    })
    .await
    .map_err(ApiError::internal)?;
    let checked = match checked {
        Ok(verified) => remember(state, org, verified, now).await,
        Err(error) => Err(error.into()),
    };
    match taken.login {
        Some(login) if login.is_test() => {
            let result = checked
                .map(|v| v.identity)
                .map_err(|problem| match problem.kind {
                    ProblemKind::SsoStateInvalid => SsoError::State(problem.detail),
                    ProblemKind::InvalidSsoSettings => SsoError::Settings(problem.detail),
                    _ => SsoError::Token(problem.detail),
                });
            record_test(state, req, org, &login.state_hash, result).await
        }
        Some(login) => match checked {
            Ok(verified) => {
                // The browser that posted gets a token of its own: `finish` needs it as well
                // as the starting browser's state cookie, so a response only signs in where
                // the sign-in was both started and answered.
                let token = tenant::secrets::new_token();
                let handoff = handoff_of(verified.identity, taken.default_role, &token)?;
                let hash = login.state_hash.clone();
                state
                    .db
                    .scoped(org, async |conn| {
                        Ok::<_, DbError>(sso::record_outcome(conn, org, &hash, &handoff).await?)
                    })
                    .await?;
                let relay = relay_state.unwrap_or_default();
                Ok(CallbackOut::SeeOther(
                    finish_url(org, &relay),
                    Some(sign_in_cookie(state, req, HANDOFF_COOKIE, &token)),
                ))
            }
            Err(problem) => {
                record_failure(state, req, org, Kind::Saml, &problem).await?;
                Err(problem)
            }
        },
        None => {
            // IdP-initiated (allowed by the owner). The checked, now spent, assertion signs no
            // one in: whoever posted it may not be who it names (someone can post their own
            // into a colleague's browser). This browser starts a sign-in of its own instead, and
            // the IdP answers it for whoever is signed in there.
            checked?;
            let (url, sign_in) =
                open_sign_in(state, req, org, Kind::Saml, Purpose::SignIn, None).await?;
            Ok(CallbackOut::SeeOther(
                url,
                Some(state_cookie(state, req, &sign_in)),
            ))
        }
    }
}

/// The sign-in `relay_state` names (taken, once), or none for an IdP-initiated response when
/// the owner allows it; and the connection's settings.
async fn take(
    state: &AppState,
    org: OrgId,
    relay_state: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Taken> {
    let (connection, login, entitled) = state
        .db
        .scoped(org, async |conn| {
            let entitled = state
                .billing
                .entitlements(conn, org, now)
                .await?
                .require(billing::Feature::Sso)
                .is_ok();
            let login = match relay_state {
                Some(relay) if entitled => {
                    sso::take_login(conn, org, Kind::Saml, relay, now).await?
                }
                _ => None,
            };
            let connection = sso::connection(conn, org, Kind::Saml).await?;
            Ok::<_, ApiError>((connection, login, entitled))
        })
        .await?;
    let is_test = login.as_ref().is_some_and(sso::Login::is_test);
    // A plan without single sign-on takes no response (an IdP-initiated one included).
    let connection = connection
        .filter(|c| entitled && (c.enabled || is_test))
        .ok_or_else(|| {
            ApiError::new(
                poem::http::StatusCode::NOT_FOUND,
                ProblemKind::SsoNotConfigured,
                "this organization has no enabled SAML connection (or its plan lacks single \
                 sign-on)",
            )
        })?;
    let settings = settings_of(&connection)?;
    if login.is_none() && !settings.allow_idp_initiated {
        return Err(SsoError::State(
            "this response answers no sign-in started here (or one that expired or was used), \
             and IdP-initiated sign-in is off for this organization: start again from Beacon's \
             sign-in page"
                .into(),
        )
        .into());
    }
    Ok(Taken {
        login,
        settings,
        default_role: Role::parse(&connection.default_role).unwrap_or(Role::Member),
    })
}

/// Refuses a replayed assertion; passes a new one on.
async fn remember(
    state: &AppState,
    org: OrgId,
    verified: Verified,
    now: DateTime<Utc>,
) -> ApiResult<Verified> {
    let (id, until) = (verified.assertion_id.clone(), verified.expires_at);
    let fresh = state
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(sso::remember_assertion(conn, org, &id, until, now).await?)
        })
        .await?;
    if fresh {
        Ok(verified)
    } else {
        Err(SsoError::Token("this assertion was already used: a replay is refused".into()).into())
    }
}

/// What the ACS leaves for the finishing step: who (without the raw attributes), the default
/// role, and the SHA-256 of the posting browser's handoff token.
fn handoff_of(identity: Identity, default_role: Role, token: &str) -> ApiResult<serde_json::Value> {
    let identity = Identity {
        received: serde_json::Value::Null,
        ..identity
    };
    Ok(serde_json::json!({
        "identity": serde_json::to_value(identity).map_err(ApiError::internal)?,
        "default_role": default_role.as_str(),
        "handoff": hex::encode(tenant::secrets::token_hash(token)),
    }))
}

fn finish_url(org: OrgId, state: &str) -> String {
    format!("/api/v1/sso/saml/{}/finish?state={state}", org.uuid())
}

/// The finishing step's work: this browser's sign-in, once, then admission and the session.
async fn hand_over(
    state: &AppState,
    req: &Request,
    org: OrgId,
    sent_state: &str,
) -> ApiResult<CallbackOut> {
    let token = session_cookie::read_named(req, HANDOFF_COOKIE);
    let (true, Some(token)) = (is_this_browsers(req, sent_state), token) else {
        return Err(SsoError::State(
            "this sign-in was not started and answered in this browser, or took too long; start \
             again"
                .into(),
        )
        .into());
    };
    let now = state.clock.now();
    let (handoff, return_to) = state
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(sso::take_handoff(conn, org, sent_state, &token, now).await?)
        })
        .await?
        .ok_or_else(|| {
            SsoError::State("this sign-in has expired or was already used; start again".into())
        })?;
    let identity: Identity = serde_json::from_value(handoff["identity"].clone())
        .map_err(|e| ApiError::internal(format!("a SAML sign-in's identity: {e}")))?;
    let default_role = handoff["default_role"]
        .as_str()
        .and_then(Role::parse)
        .unwrap_or(Role::Member);
    sign_in(
        state,
        req,
        org,
        Kind::Saml,
        Ok((identity, default_role)),
        return_to,
    )
    .await
}
