//! An organization's SAML connection (owners): the identity provider's metadata (from its URL
//! or pasted), the pinned signing certificate, the attribute names, whether IdP-initiated
//! sign-in is taken, and a test sign-in. Gated by the plan's `sso` feature when billing is on.
//! Beacon's side (SP metadata, ACS) is [`crate::routes::saml_login`].

use billing::Feature;
use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::memberships::Role;
use tenant::tables::sso::{self, ConnectionChange, Kind};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::NoContent;
use crate::routes::sso::{GrantedRole, granted, remove_connection};
use crate::routes::sso_login::{StartOut, begin};
use crate::routes::text::Text;
use crate::scope::{OrgScope, Owner};
use crate::sso::SsoError;
use crate::sso::saml::{self, SamlSettings};
use crate::state::AppState;

/// The largest body of a save: 150,000 characters of pasted metadata, JSON-escaped at worst.
pub const MAX_SAVE_BYTES: usize = 1024 * 1024;

/// A SAML connection as saved. Give the identity provider's metadata as `metadata_url` or
/// `metadata_xml`; omit both (and `certificate_sha256`) to keep the stored metadata and its
/// pins. The other fields take their defaults when omitted.
#[derive(Debug, Object)]
pub struct SamlIn {
    /// Where Beacon reads the IdP's metadata (once, when saving: sign-ins use what was read).
    #[oai(validator(max_length = 500))]
    pub metadata_url: Option<Text>,
    /// The IdP's metadata XML, pasted (larger documents: give `metadata_url`).
    #[oai(validator(max_length = 150000))]
    pub metadata_xml: Option<Text>,
    /// SHA-256 fingerprint (hex, colons allowed) of the one signing certificate to trust;
    /// without it, every signing certificate in the metadata is pinned.
    #[oai(validator(max_length = 100))]
    pub certificate_sha256: Option<Text>,
    /// The attribute with the e-mail address; without it, the NameID is the address.
    #[oai(validator(max_length = 256))]
    pub email_attribute: Option<Text>,
    /// The attribute with the user's groups, mapped to roles.
    #[oai(validator(max_length = 256))]
    pub groups_attribute: Option<Text>,
    /// Take responses Beacon did not ask for (IdP-initiated sign-in); default false.
    pub allow_idp_initiated: Option<bool>,
    /// Role of members a first sign-in creates when no group maps (default `member`).
    pub default_role: Option<GrantedRole>,
    /// Whether sign-ins may use it (default true).
    pub enabled: Option<bool>,
}

/// A SAML connection as shown.
#[derive(Debug, Object)]
pub struct SamlOut {
    /// The IdP's entity ID.
    pub idp_entity_id: String,
    /// The IdP's single sign-on URL (HTTP-Redirect binding).
    pub sso_url: String,
    /// Where the metadata was read from, if from a URL.
    pub metadata_url: Option<String>,
    /// SHA-256 fingerprints of the signing certificates trusted.
    pub pinned_sha256: Vec<String>,
    /// The e-mail attribute (absent: the NameID).
    pub email_attribute: Option<String>,
    /// The groups attribute.
    pub groups_attribute: Option<String>,
    /// Whether IdP-initiated sign-in is taken.
    pub allow_idp_initiated: bool,
    /// Role of members a first sign-in creates.
    pub default_role: GrantedRole,
    /// Whether sign-ins may use it.
    pub enabled: bool,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The stored settings of a SAML connection.
pub fn settings_of(connection: &sso::Connection) -> Result<SamlSettings, SsoError> {
    serde_json::from_value(connection.settings.clone())
        .map_err(|e| SsoError::Settings(format!("the stored connection is unreadable: {e}")))
}

/// A SAML connection as the API shows it.
pub fn saml_out(connection: &sso::Connection) -> ApiResult<SamlOut> {
    let settings = settings_of(connection).map_err(ApiError::internal)?;
    Ok(SamlOut {
        idp_entity_id: settings.idp_entity_id,
        sso_url: settings.sso_url,
        metadata_url: settings.metadata_url,
        pinned_sha256: settings.pinned_sha256,
        email_attribute: settings.email_attribute,
        groups_attribute: settings.groups_attribute,
        allow_idp_initiated: settings.allow_idp_initiated,
        default_role: granted(&connection.default_role),
        enabled: connection.enabled,
        updated_at: connection.updated_at,
    })
}

fn invalid(why: impl Into<String>) -> ApiError {
    ApiError::invalid(ProblemKind::InvalidSsoSettings, why.into())
}

/// An attribute name: printable, at most 256 characters, or none.
fn attribute_name(name: &Option<Text>) -> ApiResult<Option<String>> {
    match name.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) if name.chars().all(|c| !c.is_control()) => Ok(Some(name.to_owned())),
        Some(_) => Err(invalid("attribute names have no control characters")),
    }
}

/// The metadata XML of `body` and its URL: pasted, read from its URL, or (`None`) not given.
async fn metadata_of(
    state: &AppState,
    body: &SamlIn,
) -> ApiResult<Option<(String, Option<String>)>> {
    let pasted = body
        .metadata_xml
        .as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty());
    let url = body
        .metadata_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    match (pasted, url) {
        (Some(_), Some(_)) => Err(invalid("give metadata_url or metadata_xml, not both")),
        (Some(xml), None) => Ok(Some((xml.to_owned(), None))),
        (None, Some(url)) => {
            let parsed = url::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http") && u.has_host())
                .ok_or_else(|| invalid("the metadata URL must be an http(s) URL"))?;
            let request = openidconnect::http::Request::builder()
                .method(openidconnect::http::Method::GET)
                .uri(parsed.as_str())
                .body(Vec::new())
                .map_err(|e| invalid(format!("the metadata URL: {e}")))?;
            let response = crate::sso::http::send(&state.outbound, request)
                .await
                .map_err(|e| invalid(format!("reading the metadata at {url}: {e}")))?;
            if !response.status().is_success() {
                return Err(invalid(format!(
                    "reading the metadata at {url}: the server answered {}",
                    response.status()
                )));
            }
            let xml = String::from_utf8(response.into_body())
                .map_err(|_| invalid("the metadata at that URL is not UTF-8 XML"))?;
            Ok(Some((xml, Some(url.to_owned()))))
        }
        (None, None) => Ok(None),
    }
}

/// SAML connection settings.
#[derive(Default)]
pub struct SamlApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Organizations")]
impl SamlApi {
    /// Create or change the SAML connection (owners). Beacon reads the IdP's metadata (from
    /// its URL, once) and pins its signing certificates, or only the one `certificate_sha256`
    /// names: 422 `invalid_sso_settings` when the metadata cannot be read, has no HTTP-Redirect
    /// sign-on URL or no signing certificate, or lacks the pinned one.
    #[oai(
        path = "/:org_id/sso/saml",
        method = "put",
        operation_id = "save_saml_connection"
    )]
    async fn save(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<SamlIn>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<SamlOut>> {
        scope.entitlements.require(Feature::Sso)?;
        let org = scope.org();
        let before = state
            .db
            .scoped(org, async |conn| {
                Ok::<_, tenant::DbError>(sso::connection(conn, org, Kind::Saml).await?)
            })
            .await?;
        let stored = before.as_ref().map(settings_of).transpose().ok().flatten();
        let given = metadata_of(&state, &body).await?;
        let metadata_given = given.is_some();
        let (metadata_xml, metadata_url) = match (given, &stored) {
            (Some(given), _) => given,
            (None, Some(stored)) => (stored.metadata_xml.clone(), stored.metadata_url.clone()),
            (None, None) => {
                return Err(invalid(
                    "a new connection needs metadata_url or metadata_xml",
                ));
            }
        };
        let pin = body
            .certificate_sha256
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let idp = saml::read_metadata(&metadata_xml, pin).map_err(|error| match error {
            SsoError::Settings(why) => invalid(why),
            other => other.into(),
        })?;
        // Saving again without new metadata or a new pin keeps the pins (a narrowed pin is
        // not widened back to every certificate in the metadata).
        let pinned_sha256 = match (&stored, metadata_given || pin.is_some()) {
            (Some(stored), false) => stored.pinned_sha256.clone(),
            _ => idp.pinned_sha256,
        };
        let settings = SamlSettings {
            metadata_url,
            metadata_xml,
            idp_entity_id: idp.entity_id,
            sso_url: idp.sso_url,
            pinned_sha256,
            email_attribute: attribute_name(&body.email_attribute)?,
            groups_attribute: attribute_name(&body.groups_attribute)?,
            allow_idp_initiated: body.allow_idp_initiated.unwrap_or(false),
        };
        let stored = serde_json::to_value(&settings).map_err(ApiError::internal)?;
        let default_role: Role = body.default_role.unwrap_or(GrantedRole::Member).into();
        let change = ConnectionChange {
            enabled: body.enabled.unwrap_or(true),
            settings: &stored,
            secret: None,
            default_role,
        };
        let change = &change;
        // The audit record shows what changed, without the metadata document itself.
        let summary = |settings: &serde_json::Value, enabled: bool, role: &str| {
            let mut summary = settings.clone();
            if let Some(map) = summary.as_object_mut() {
                map.remove("metadata_xml");
            }
            summary["enabled"] = enabled.into();
            summary["default_role"] = role.into();
            summary
        };
        let connection = scope
            .run(async |conn| {
                sso::save_connection(conn, org, Kind::Saml, change).await?;
                let after = summary(&stored, change.enabled, default_role.as_str());
                let changes = match &before {
                    Some(before) => Changes::diff(
                        &summary(&before.settings, before.enabled, &before.default_role),
                        &after,
                    ),
                    None => Changes::created(after),
                };
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::SsoConnectionSaved, "saml").with(changes),
                )
                .await?;
                sso::connection(conn, org, Kind::Saml)
                    .await?
                    .ok_or_else(|| ApiError::internal("the connection just saved is missing"))
            })
            .await?;
        Ok(Json(saml_out(&connection)?))
    }

    /// Remove the SAML connection (owners); 409 while SSO is required and it is the only
    /// enabled connection.
    #[oai(
        path = "/:org_id/sso/saml",
        method = "delete",
        operation_id = "delete_saml_connection"
    )]
    async fn delete(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<NoContent> {
        let org = scope.org();
        scope
            .run(async |conn| remove_connection(conn, org, Kind::Saml).await)
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Start a test sign-in through SAML (owners): open `redirect_url`, sign in at the IdP,
    /// and Beacon comes back to the SSO settings with `?sso_test=<test_id>` instead of signing
    /// anyone in; `GET …/sso/tests/{test_id}` shows what the IdP sent.
    #[oai(
        path = "/:org_id/sso/saml/test",
        method = "post",
        operation_id = "test_saml_connection"
    )]
    async fn test(
        &self,
        state: Data<&AppState>,
        req: &Request,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<StartOut> {
        scope.entitlements.require(Feature::Sso)?;
        let org = scope.org();
        scope.run(async |_| Ok::<_, ApiError>(())).await?;
        begin(&state, req, org, Kind::Saml, sso::Purpose::Test, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names_refuse_control_characters() {
        assert!(attribute_name(&Some(Text("mail\n".into()))).is_ok());
        assert!(attribute_name(&Some(Text("ma\u{7}il".into()))).is_err());
        assert_eq!(attribute_name(&Some(Text("  ".into()))).ok(), Some(None));
    }
}
