//! OpenID Connect sign-in (authorization code with PKCE, `state` and `nonce`) through the
//! `openidconnect` crate: discovery from the issuer, the token exchange, and the ID token's
//! checks — signature against the provider's published keys (never `alg: none`), issuer,
//! audience, expiry and nonce. Claim names are the connection's settings, so the extra claims
//! are read as a map.

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::sso::http::{HttpError, Outbound};
use crate::sso::{Identity, SsoError};

/// A connection's non-secret settings, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer (discovery is `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// Beacon's client id at the provider.
    pub client_id: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The claim holding the e-mail address.
    pub email_claim: String,
    /// The claim holding the user's groups, mapped to roles.
    pub groups_claim: Option<String>,
}

/// Every claim of the ID token beyond the standard ones, by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    /// The claims, by name.
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}

impl AdditionalClaims for ExtraClaims {}

type IdFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type OidcClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<IdFields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A provider discovered for one connection, ready to send a browser there or take it back.
pub struct Provider {
    client: OidcClient,
}

/// What a sign-in keeps until the browser comes back: the state, nonce and PKCE verifier.
pub struct Started {
    /// Where to send the browser.
    pub url: String,
    /// The `state` sent.
    pub state: String,
    /// The `nonce` sent.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: String,
}

impl Provider {
    /// Discovers `settings.issuer` over `http` (the issuer in the metadata must be the one
    /// configured) and sets up the client with `secret` and Beacon's `redirect_url`.
    pub async fn discover(
        http: &worker::outbound::Outbound,
        settings: &OidcSettings,
        secret: Option<String>,
        redirect_url: &str,
    ) -> Result<Self, SsoError> {
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| SsoError::Settings(format!("the issuer is not a URL: {e}")))?;
        let call = Outbound(http);
        let metadata = CoreProviderMetadata::discover_async(issuer, &call)
            .await
            .map_err(|error| {
                SsoError::Provider(format!(
                    "discovery at {}: {}",
                    settings.issuer,
                    worker::outbound::describe(&error)
                ))
            })?;
        let redirect = RedirectUrl::new(redirect_url.to_owned())
            .map_err(|e| SsoError::Settings(format!("the redirect URL: {e}")))?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id.clone()),
            secret.map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        Ok(Self { client })
    }

    /// The authorization URL for a new sign-in asking for `scopes`.
    pub fn start(&self, scopes: &[String]) -> Started {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in scopes.iter().filter(|scope| scope.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        }
    }

    /// Exchanges `code` (with the PKCE verifier) and checks the ID token: signature, issuer,
    /// audience, expiry at `now`, and `nonce`. Answers who signed in.
    pub async fn finish(
        &self,
        http: &worker::outbound::Outbound,
        settings: &OidcSettings,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<Identity, SsoError> {
        let call = Outbound(http);
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SsoError::Provider(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&call)
            .await
            .map_err(token_error)?;
        let id_token = token.id_token().ok_or_else(|| {
            SsoError::Token("the provider's token response has no ID token".into())
        })?;
        let verifier = self.client.id_token_verifier().set_time_fn(move || now);
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_owned()))
            .map_err(|error| SsoError::Token(worker::outbound::describe(&error)))?;
        let extra = &claims.additional_claims().claims;
        let email = if settings.email_claim == "email" {
            claims.email().map(|email| email.as_str().to_owned())
        } else {
            extra
                .get(&settings.email_claim)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let groups = settings
            .groups_claim
            .as_ref()
            .and_then(|name| extra.get(name))
            .map(strings)
            .unwrap_or_default();
        Ok(Identity {
            subject: claims.subject().as_str().to_owned(),
            email,
            email_verified: claims.email_verified(),
            groups,
            received: serde_json::to_value(claims).unwrap_or(Value::Null),
        })
    }
}

/// A claim that is a list of strings or one string.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn token_error<RE: std::error::Error + 'static>(
    error: RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> SsoError {
    match &error {
        RequestTokenError::ServerResponse(response) => {
            SsoError::Provider(format!("the provider refused the code: {}", response))
        }
        // The answer came but is not a token response (a malformed or unsigned JWT among them).
        RequestTokenError::Parse(..) => SsoError::Token(worker::outbound::describe(&error)),
        RequestTokenError::Request(..) | RequestTokenError::Other(..) => {
            SsoError::Provider(worker::outbound::describe(&error))
        }
    }
}

impl From<HttpError> for SsoError {
    fn from(error: HttpError) -> Self {
        SsoError::Provider(error.to_string())
    }
}
