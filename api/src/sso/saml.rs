//! SAML 2.0 sign-in through `samael` with xmlsec: reading an identity provider's metadata,
//! the AuthnRequest (HTTP-Redirect binding), Beacon's SP metadata, and the checks of a
//! response posted to the ACS.
//!
//! Before xmlsec sees a response, [`crate::sso::saml_shape`] refuses any signature that would
//! make it fetch, transform or process more than the response itself. Only what a pinned
//! certificate signed is read: xmlsec verifies the signature (of the
//! response or of the assertion) against the certificates pinned when the connection was
//! saved — never against a certificate the response itself carries — and samael keeps only
//! the signed content, so an unsigned assertion wrapped next to a signed one is never seen
//! (signature wrapping). Then the issuer, the audience (Beacon's entity ID, required), the
//! recipient and destination (Beacon's ACS), NotBefore/NotOnOrAfter with a small skew, and
//! InResponseTo (the AuthnRequest this browser started) are checked. Replays are the caller's
//! to refuse, with [`Verified::assertion_id`] and [`Verified::expires_at`].

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer};
use samael::metadata::{EntityDescriptor, HTTP_REDIRECT_BINDING};
use samael::schema::Assertion;
use samael::service_provider::{ServiceProvider, ServiceProviderBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::sso::{Identity, SsoError};

/// The clock skew tolerated on NotBefore and NotOnOrAfter.
const MAX_CLOCK_SKEW_SECONDS: i64 = 60;
/// How long after its IssueInstant a response is still taken.
const MAX_ISSUE_DELAY_SECONDS: i64 = 300;

/// A connection's settings, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SamlSettings {
    /// Where the metadata was read from, when it came from a URL.
    pub metadata_url: Option<String>,
    /// The identity provider's metadata, as read when the connection was saved (never fetched
    /// again at sign-in).
    pub metadata_xml: String,
    /// The IdP's entity ID (the issuer its responses must carry).
    pub idp_entity_id: String,
    /// The IdP's single sign-on URL (HTTP-Redirect binding).
    pub sso_url: String,
    /// SHA-256 (hex) of each signing certificate Beacon trusts: only these verify a response.
    pub pinned_sha256: Vec<String>,
    /// The attribute holding the e-mail address; `None` takes the NameID.
    pub email_attribute: Option<String>,
    /// The attribute holding the user's groups, mapped to roles.
    pub groups_attribute: Option<String>,
    /// Whether a response Beacon did not ask for (IdP-initiated sign-in) is taken.
    pub allow_idp_initiated: bool,
}

/// What an identity provider's metadata says, read and pinned.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    /// The IdP's entity ID.
    pub entity_id: String,
    /// Its HTTP-Redirect single sign-on URL.
    pub sso_url: String,
    /// SHA-256 (hex) of the signing certificates kept.
    pub pinned_sha256: Vec<String>,
}

/// Beacon's side of one organization's connection.
#[derive(Debug, Clone)]
pub struct SpEndpoints {
    /// Beacon's entity ID (the URL of its SP metadata): the audience assertions must name.
    pub entity_id: String,
    /// The assertion consumer service (POST binding).
    pub acs_url: String,
}

impl SpEndpoints {
    /// The endpoints of `org` under `base` (Beacon's public URL).
    pub fn new(base: &str, org: uuid::Uuid) -> Self {
        Self {
            entity_id: format!("{base}/api/v1/sso/saml/{org}/metadata"),
            acs_url: format!("{base}/api/v1/sso/saml/{org}/acs"),
        }
    }

    /// Beacon's SP metadata: the entity ID, the ACS (POST binding), signed assertions wanted.
    pub fn metadata_xml(&self) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#,
            entity = xml_attribute(&self.entity_id),
            acs = xml_attribute(&self.acs_url),
        )
    }
}

/// `value` escaped for an XML attribute.
fn xml_attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Hex SHA-256 of a certificate's DER.
fn fingerprint(cert: &CertificateDer) -> String {
    hex::encode(Sha256::digest(cert.der_data()))
}

/// A pin as an owner may paste it: hex with or without colons, any case.
pub fn normalize_fingerprint(pin: &str) -> Option<String> {
    let hex: String = pin
        .chars()
        .filter(|c| !matches!(c, ':' | ' '))
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

fn parse_entity(xml: &str) -> Result<EntityDescriptor, SsoError> {
    xml.parse::<EntityDescriptor>().map_err(|error| {
        SsoError::Settings(format!(
            "the identity provider's metadata is not a SAML EntityDescriptor: {error}"
        ))
    })
}

/// Reads an IdP's metadata: its entity ID, its HTTP-Redirect sign-on URL and its signing
/// certificates, of which `pin` (a SHA-256 fingerprint) keeps only the one it names.
pub fn read_metadata(xml: &str, pin: Option<&str>) -> Result<IdpMetadata, SsoError> {
    let entity = parse_entity(xml)?;
    let entity_id = entity
        .entity_id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| SsoError::Settings("the metadata has no entityID".into()))?;
    let provider = ServiceProvider {
        idp_metadata: entity,
        ..ServiceProvider::default()
    };
    let sso_url = provider
        .sso_binding_location(HTTP_REDIRECT_BINDING)
        .ok_or_else(|| {
            SsoError::Settings(
                "the metadata has no SingleSignOnService with the HTTP-Redirect binding".into(),
            )
        })?;
    url::Url::parse(&sso_url)
        .ok()
        .filter(|url| matches!(url.scheme(), "https" | "http"))
        .ok_or_else(|| SsoError::Settings("the single sign-on URL is not an http(s) URL".into()))?;
    let certs = provider
        .idp_signing_certs()
        .map_err(|error| SsoError::Settings(format!("a certificate in the metadata: {error}")))?
        .unwrap_or_default();
    let mut pinned: Vec<String> = certs.iter().map(fingerprint).collect();
    pinned.dedup();
    if pinned.is_empty() {
        return Err(SsoError::Settings(
            "the metadata has no signing certificate: Beacon accepts only signed responses".into(),
        ));
    }
    if let Some(pin) = pin {
        let pin = normalize_fingerprint(pin).ok_or_else(|| {
            SsoError::Settings("the pinned fingerprint is not a SHA-256 in hex".into())
        })?;
        if !pinned.contains(&pin) {
            return Err(SsoError::Settings(
                "no signing certificate in the metadata has the pinned SHA-256 fingerprint".into(),
            ));
        }
        pinned = vec![pin];
    }
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        pinned_sha256: pinned,
    })
}

/// The stored metadata with only the pinned signing certificates left in it.
fn pinned_entity(settings: &SamlSettings) -> Result<EntityDescriptor, SsoError> {
    let mut entity = parse_entity(&settings.metadata_xml)?;
    for descriptor in entity.idp_sso_descriptors.iter_mut().flatten() {
        for key in &mut descriptor.key_descriptors {
            if let Some(data) = key.key_info.x509_data.as_mut() {
                data.certificates.retain(|cert| {
                    samael::crypto::decode_x509_cert(cert)
                        .is_ok_and(|der| settings.pinned_sha256.contains(&fingerprint(&der)))
                });
            }
        }
        descriptor.key_descriptors.retain(|key| {
            key.key_info
                .x509_data
                .as_ref()
                .is_some_and(|data| !data.certificates.is_empty())
        });
    }
    Ok(entity)
}

/// The service provider samael checks responses with: the pinned IdP, Beacon's endpoints,
/// SHA-2 signatures only.
fn service_provider(
    settings: &SamlSettings,
    sp: &SpEndpoints,
    idp_initiated: bool,
) -> Result<ServiceProvider, SsoError> {
    let provider = ServiceProviderBuilder::default()
        .entity_id(sp.entity_id.clone())
        .acs_url(sp.acs_url.clone())
        .idp_metadata(pinned_entity(settings)?)
        .allow_idp_initiated(idp_initiated)
        .max_clock_skew(Duration::seconds(MAX_CLOCK_SKEW_SECONDS))
        .max_issue_delay(Duration::seconds(MAX_ISSUE_DELAY_SECONDS))
        .allowed_signature_algorithms(vec![
            AllowedSignatureAlgorithm::RsaSha256,
            AllowedSignatureAlgorithm::RsaSha384,
            AllowedSignatureAlgorithm::RsaSha512,
            AllowedSignatureAlgorithm::EcdsaSha256,
            AllowedSignatureAlgorithm::EcdsaSha384,
            AllowedSignatureAlgorithm::EcdsaSha512,
        ])
        .build()
        .map_err(|error| SsoError::Settings(format!("the SAML connection: {error}")))?;
    // Never check a response without a certificate: samael would take it unsigned.
    match provider.idp_signing_certs() {
        Ok(Some(certs)) if !certs.is_empty() => Ok(provider),
        _ => Err(SsoError::Settings(
            "the connection has no pinned signing certificate left; save it again".into(),
        )),
    }
}

/// A new AuthnRequest for `settings`' IdP: the URL to send the browser to (HTTP-Redirect
/// binding, with `relay_state`), and the request's ID, which the response must answer.
pub fn authn_request(
    settings: &SamlSettings,
    sp: &SpEndpoints,
    relay_state: &str,
) -> Result<(String, String), SsoError> {
    let provider = service_provider(settings, sp, false)?;
    let mut request = provider
        .make_authentication_request(&settings.sso_url)
        .map_err(|error| SsoError::Settings(format!("the AuthnRequest: {error}")))?;
    // samael's own ID has 32 random bits; the request ID is what binds the answer to it.
    let mut random = [0u8; 20];
    rand::fill(&mut random);
    request.id = format!("_{}", hex::encode(random));
    let url = request
        .redirect(relay_state)
        .map_err(|error| SsoError::Settings(format!("the AuthnRequest: {error}")))?
        .ok_or_else(|| SsoError::Settings("the AuthnRequest has no destination".into()))?;
    Ok((url.to_string(), request.id))
}

/// A response that checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Who the IdP vouched for.
    pub identity: Identity,
    /// The assertion's ID, for the replay cache.
    pub assertion_id: String,
    /// Until when the assertion could be taken (its latest NotOnOrAfter, plus the skew).
    pub expires_at: DateTime<Utc>,
    /// The InResponseTo it answers (absent for an IdP-initiated sign-in).
    pub in_response_to: Option<String>,
}

/// Checks a base64 `SAMLResponse`: signed by a pinned certificate, for Beacon (audience,
/// recipient, destination), in time, and answering `request_id` — or, with `request_id`
/// `None`, an IdP-initiated response, which answers nothing. Blocking (xmlsec): run it off
/// the async threads.
pub fn verify_response(
    settings: &SamlSettings,
    sp: &SpEndpoints,
    saml_response: &str,
    request_id: Option<&str>,
) -> Result<Verified, SsoError> {
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| SsoError::Token("the SAMLResponse is not base64".into()))?;
    let xml = String::from_utf8(bytes)
        .map_err(|_| SsoError::Token("the SAMLResponse is not UTF-8 XML".into()))?;
    let shape = crate::sso::saml_shape::check(&xml)
        .map_err(|why| SsoError::Token(format!("the SAML response was refused: {why}")))?;
    if request_id.is_none() && shape.response_in_response_to.is_some() {
        return Err(SsoError::Token(
            "the response answers a sign-in this browser did not start".into(),
        ));
    }
    let provider = service_provider(settings, sp, request_id.is_none())?;
    let ids: Vec<&str> = request_id.into_iter().collect();
    let assertion = provider
        .parse_xml_response(&xml, request_id.map(|_| ids.as_slice()))
        .map_err(refusal)?;
    let in_response_to = answered_request(&assertion);
    if request_id.is_none() && in_response_to.is_some() {
        return Err(SsoError::Token(
            "the response answers a sign-in this browser did not start".into(),
        ));
    }
    if assertion.issue_instant > Utc::now() + Duration::seconds(MAX_CLOCK_SKEW_SECONDS) {
        return Err(SsoError::Token(
            "the SAML response was refused: the assertion was issued in the future".into(),
        ));
    }
    require_audience(&assertion, &sp.entity_id)?;
    let expires_at = expiry(&assertion)?;
    let identity = identity(settings, &assertion)?;
    Ok(Verified {
        identity,
        assertion_id: assertion.id.clone(),
        expires_at,
        in_response_to,
    })
}

/// Why samael refused a response, in words an owner can act on.
fn refusal(error: samael::service_provider::Error) -> SsoError {
    use samael::service_provider::Error;
    let why = match error {
        Error::FailedToValidateSignature => "no valid signature by the pinned certificate: the \
            response or its assertion must be signed by the identity provider's pinned key, \
            with SHA-256 or stronger"
            .to_owned(),
        other => other.to_string(),
    };
    SsoError::Token(format!("the SAML response was refused: {why}"))
}

/// The InResponseTo of the assertion's bearer confirmation.
fn answered_request(assertion: &Assertion) -> Option<String> {
    confirmation_data(assertion).find_map(|data| data.in_response_to.clone())
}

/// The data of the assertion's subject confirmations.
fn confirmation_data(
    assertion: &Assertion,
) -> impl Iterator<Item = &samael::schema::SubjectConfirmationData> {
    assertion
        .subject
        .as_ref()
        .and_then(|subject| subject.subject_confirmations.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.subject_confirmation_data.as_ref())
}

/// samael checks the audience only when one is given: Beacon requires it.
fn require_audience(assertion: &Assertion, entity_id: &str) -> Result<(), SsoError> {
    let named = assertion
        .conditions
        .as_ref()
        .and_then(|c| c.audience_restrictions.as_ref())
        .into_iter()
        .flatten()
        .any(|restriction| restriction.audience.iter().any(|a| a == entity_id));
    if named {
        Ok(())
    } else {
        Err(SsoError::Token(format!(
            "the assertion is not addressed to Beacon (its audience must be {entity_id})"
        )))
    }
}

/// The latest moment the assertion is valid at (plus skew): how long the replay cache keeps it.
fn expiry(assertion: &Assertion) -> Result<DateTime<Utc>, SsoError> {
    let confirmation = confirmation_data(assertion).filter_map(|data| data.not_on_or_after);
    let condition = assertion
        .conditions
        .as_ref()
        .and_then(|c| c.not_on_or_after);
    confirmation
        .chain(condition)
        .max()
        .map(|at| at + Duration::seconds(MAX_CLOCK_SKEW_SECONDS))
        .ok_or_else(|| SsoError::Token("the assertion has no NotOnOrAfter".into()))
}

/// Every value of the attribute called `name` (by Name or FriendlyName).
fn attribute_values(assertion: &Assertion, name: &str) -> Vec<String> {
    assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|statement| &statement.attributes)
        .filter(|a| a.name.as_deref() == Some(name) || a.friendly_name.as_deref() == Some(name))
        .flat_map(|a| &a.values)
        .filter_map(|v| v.value.as_deref())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

fn identity(settings: &SamlSettings, assertion: &Assertion) -> Result<Identity, SsoError> {
    let subject = assertion
        .subject
        .as_ref()
        .and_then(|subject| subject.name_id.as_ref())
        .map(|name_id| name_id.value.trim().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 512)
        .ok_or_else(|| SsoError::Token("the assertion has no usable NameID".into()))?;
    let email = match &settings.email_attribute {
        Some(name) => attribute_values(assertion, name).into_iter().next(),
        None => Some(subject.clone()),
    };
    let groups = settings
        .groups_attribute
        .as_deref()
        .map(|name| attribute_values(assertion, name))
        .unwrap_or_default();
    let mut attributes = Map::new();
    for attribute in assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| &s.attributes)
    {
        let key = attribute
            .friendly_name
            .clone()
            .or_else(|| attribute.name.clone())
            .unwrap_or_default();
        let values: Vec<Value> = attribute
            .values
            .iter()
            .filter_map(|v| v.value.clone())
            .map(Value::String)
            .collect();
        attributes.insert(key, Value::Array(values));
    }
    Ok(Identity {
        subject: subject.clone(),
        email,
        email_verified: None,
        groups,
        received: json!({
            "issuer": assertion.issuer.value,
            "name_id": subject,
            "assertion_id": assertion.id,
            "attributes": attributes,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_read_with_or_without_colons() {
        let hex = "AB".repeat(32);
        let colons = hex
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(normalize_fingerprint(&colons), Some("ab".repeat(32)));
        assert_eq!(normalize_fingerprint("abc"), None);
        assert_eq!(normalize_fingerprint(&"zz".repeat(32)), None);
    }

    #[test]
    fn sp_metadata_escapes_its_urls() {
        let sp = SpEndpoints {
            entity_id: "https://a.example/x?a=1&b=\"2\"".into(),
            acs_url: "https://a.example/acs".into(),
        };
        let xml = sp.metadata_xml();
        assert!(xml.contains("entityID=\"https://a.example/x?a=1&amp;b=&quot;2&quot;\""));
        assert!(xml.contains("Location=\"https://a.example/acs\""));
    }

    #[test]
    fn metadata_without_a_signing_certificate_is_refused() {
        let xml = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;
        let error = read_metadata(xml, None).map(|m| m.entity_id);
        assert!(
            matches!(&error, Err(SsoError::Settings(why)) if why.contains("no signing certificate")),
            "{error:?}"
        );
        assert!(read_metadata("<nope/>", None).is_err());
    }
}
