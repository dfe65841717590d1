//! An organization's single sign-on settings (owners change them; admins read them): the
//! OIDC connection, whether SSO is required and how long its sessions last, the group-to-role
//! mapping (shared with SCIM), and a test sign-in that shows what the identity provider sends.
//! Gated by the plan's `sso` feature when billing is on.

use billing::Feature;
use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use serde_json::{Value, json};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::memberships::Role;
use tenant::tables::org_domains;
use tenant::tables::sso::{self, ConnectionChange, Kind, Policy};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::responses::NoContent;
use crate::routes::saml::{SamlOut, saml_out};
use crate::routes::sso_login::{StartOut, begin};
use crate::routes::text::Text;
use crate::scope::{Admin, OrgScope, Owner};
use crate::sso::SsoError;
use crate::sso::oidc::{OidcSettings, Provider};
use crate::sso::saml::SpEndpoints;
use crate::state::AppState;

/// A role SSO and SCIM may give (owners are made by owners only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum GrantedRole {
    /// Members, invitations, API keys, settings.
    Admin,
    /// Projects and their data.
    Member,
    /// Read only.
    Viewer,
}

impl From<GrantedRole> for Role {
    fn from(role: GrantedRole) -> Self {
        match role {
            GrantedRole::Admin => Role::Admin,
            GrantedRole::Member => Role::Member,
            GrantedRole::Viewer => Role::Viewer,
        }
    }
}

pub(crate) fn granted(role: &str) -> GrantedRole {
    match role {
        "admin" => GrantedRole::Admin,
        "viewer" => GrantedRole::Viewer,
        _ => GrantedRole::Member,
    }
}

/// An OIDC connection as saved.
#[derive(Debug, Object)]
pub struct OidcIn {
    /// The issuer URL; Beacon reads `<issuer>/.well-known/openid-configuration`.
    #[oai(validator(max_length = 500))]
    pub issuer: Text,
    /// Beacon's client id at the provider.
    #[oai(validator(max_length = 500))]
    pub client_id: Text,
    /// The client secret (stored encrypted, never shown again). Required when creating;
    /// omit it to keep the stored one.
    #[oai(validator(max_length = 2000))]
    pub client_secret: Option<Text>,
    /// Scopes besides `openid` (default `email`, `profile`).
    #[oai(validator(max_items = 20))]
    pub scopes: Option<Vec<Text>>,
    /// The claim with the e-mail address (default `email`).
    #[oai(validator(max_length = 100))]
    pub email_claim: Option<Text>,
    /// The claim with the user's groups, mapped to roles (e.g. `groups`).
    #[oai(validator(max_length = 100))]
    pub groups_claim: Option<Text>,
    /// Role of members a first sign-in creates when no group maps (default `member`).
    pub default_role: Option<GrantedRole>,
    /// Whether sign-ins may use it (default true).
    pub enabled: Option<bool>,
}

/// An OIDC connection as shown (never the secret).
#[derive(Debug, Object)]
pub struct OidcOut {
    /// Issuer URL.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Whether a client secret is stored.
    pub has_client_secret: bool,
    /// Scopes besides `openid`.
    pub scopes: Vec<String>,
    /// E-mail claim.
    pub email_claim: String,
    /// Groups claim.
    pub groups_claim: Option<String>,
    /// Role of members a first sign-in creates.
    pub default_role: GrantedRole,
    /// Whether sign-ins may use it.
    pub enabled: bool,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The SSO policy.
#[derive(Debug, Object)]
pub struct PolicyIo {
    /// Members (not owners) must sign in through SSO.
    pub enforced: bool,
    /// Hours an SSO session lasts before signing in at the provider again (1 to 720).
    #[oai(validator(minimum(value = "1"), maximum(value = "720")))]
    pub session_hours: i32,
}

/// One group-to-role rule.
#[derive(Debug, Object)]
pub struct GroupRole {
    /// The group's name as the provider sends it.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub group: Text,
    /// The role it gives.
    pub role: GrantedRole,
}

/// The whole group-to-role mapping.
#[derive(Debug, Object)]
pub struct GroupRolesIo {
    /// Rules; a person in several groups gets the highest role.
    #[oai(validator(max_items = 200))]
    pub mappings: Vec<GroupRole>,
}

/// Everything about the organization's single sign-on.
#[derive(Debug, Object)]
pub struct SsoOut {
    /// The OIDC connection.
    pub oidc: Option<OidcOut>,
    /// Where the provider sends the browser back (register it at the provider).
    pub oidc_redirect_url: Option<String>,
    /// The SAML connection.
    pub saml: Option<SamlOut>,
    /// Beacon's SAML SP metadata URL, which is also its entity ID (give it to the IdP).
    pub saml_metadata_url: Option<String>,
    /// Beacon's SAML assertion consumer service URL (HTTP-POST binding).
    pub saml_acs_url: Option<String>,
    /// The policy.
    pub policy: PolicyIo,
    /// The group-to-role mapping.
    pub group_roles: Vec<GroupRoleOut>,
    /// Verified e-mail domains, whose people are sent to the provider.
    pub verified_domains: Vec<String>,
}

/// One group-to-role rule, as stored.
#[derive(Debug, Object)]
pub struct GroupRoleOut {
    /// Group.
    pub group: String,
    /// Role.
    pub role: GrantedRole,
}

/// What a test sign-in received.
#[derive(Debug, Object)]
pub struct TestOut {
    /// Whether the provider has sent the browser back yet.
    pub complete: bool,
    /// Whether the sign-in would have gone through.
    pub ok: Option<bool>,
    /// What the provider sent (the ID token's claims), or why it failed.
    pub outcome: Option<Value>,
}

/// The callback URL of `org`'s OIDC connection under `base`.
pub fn oidc_redirect_url(base: &str, org: Uuid) -> String {
    format!("{base}/api/v1/sso/oidc/{org}/callback")
}

fn oidc_out(connection: &sso::Connection) -> ApiResult<OidcOut> {
    let settings: OidcSettings = serde_json::from_value(connection.settings.clone())
        .map_err(|e| ApiError::internal(format!("stored OIDC settings: {e}")))?;
    Ok(OidcOut {
        issuer: settings.issuer,
        client_id: settings.client_id,
        has_client_secret: connection.secret.is_some(),
        scopes: settings.scopes,
        email_claim: settings.email_claim,
        groups_claim: settings.groups_claim,
        default_role: granted(&connection.default_role),
        enabled: connection.enabled,
        updated_at: connection.updated_at,
    })
}

/// The settings of `body`, checked: an http(s) issuer and sensible claim names.
fn oidc_settings(body: &OidcIn) -> ApiResult<OidcSettings> {
    let invalid = |why: &str| ApiError::invalid(ProblemKind::InvalidSsoSettings, why.to_owned());
    let issuer = body.issuer.trim().trim_end_matches('/').to_owned();
    let parsed = url::Url::parse(&issuer).map_err(|_| invalid("the issuer must be a URL"))?;
    if !matches!(parsed.scheme(), "https" | "http") || !parsed.has_host() {
        return Err(invalid("the issuer must be an https URL"));
    }
    let client_id = body.client_id.trim().to_owned();
    if client_id.is_empty() {
        return Err(invalid("the client id is empty"));
    }
    let name = |claim: &Option<Text>| -> ApiResult<Option<String>> {
        match claim.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(claim) if claim.chars().all(|c| c.is_ascii_graphic()) => Ok(Some(claim.into())),
            Some(_) => Err(invalid("claim names are printable ASCII without spaces")),
        }
    };
    let mut scopes: Vec<String> = match &body.scopes {
        Some(scopes) => scopes.iter().map(|s| s.trim().to_owned()).collect(),
        None => vec!["email".into(), "profile".into()],
    };
    if scopes
        .iter()
        .any(|s| s.is_empty() || !s.chars().all(|c| c.is_ascii_graphic()))
    {
        return Err(invalid("scopes are printable ASCII without spaces"));
    }
    scopes.retain(|s| s != "openid");
    scopes.dedup();
    Ok(OidcSettings {
        issuer,
        client_id,
        scopes,
        email_claim: name(&body.email_claim)?.unwrap_or_else(|| "email".into()),
        groups_claim: name(&body.groups_claim)?,
    })
}

/// Single sign-on settings.
#[derive(Default)]
pub struct SsoApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Organizations")]
impl SsoApi {
    /// The organization's single sign-on: connection, policy, group mapping (admins).
    #[oai(path = "/:org_id/sso", method = "get", operation_id = "get_sso")]
    async fn get(
        &self,
        state: Data<&AppState>,
        req: &Request,
        org_id: Path<Uuid>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<SsoOut>> {
        let org = scope.org();
        let (connection, saml, policy, mapping, domains) = scope
            .run(async |conn| {
                Ok::<_, ApiError>((
                    sso::connection(conn, org, Kind::Oidc).await?,
                    sso::connection(conn, org, Kind::Saml).await?,
                    sso::policy(conn, org).await?,
                    sso::group_roles(conn, org).await?,
                    org_domains::list(conn, org).await?,
                ))
            })
            .await?;
        let base = state.app_url(req).ok();
        let sp = base.as_deref().map(|base| SpEndpoints::new(base, *org_id));
        Ok(Json(SsoOut {
            oidc: connection.as_ref().map(oidc_out).transpose()?,
            oidc_redirect_url: base.as_deref().map(|base| oidc_redirect_url(base, *org_id)),
            saml: saml.as_ref().map(saml_out).transpose()?,
            saml_metadata_url: sp.as_ref().map(|sp| sp.entity_id.clone()),
            saml_acs_url: sp.map(|sp| sp.acs_url),
            policy: PolicyIo {
                enforced: policy.enforced,
                session_hours: policy.session_hours,
            },
            group_roles: mapping
                .into_iter()
                .map(|(group, role)| GroupRoleOut {
                    group,
                    role: granted(&role),
                })
                .collect(),
            verified_domains: domains
                .into_iter()
                .filter(|d| d.verified_at.is_some())
                .map(|d| d.domain)
                .collect(),
        }))
    }

    /// Create or change the OIDC connection (owners). Beacon reads the issuer's discovery
    /// document first: 422 `invalid_sso_settings` when it cannot be read or names another
    /// issuer.
    #[oai(
        path = "/:org_id/sso/oidc",
        method = "put",
        operation_id = "save_oidc_connection"
    )]
    async fn save_oidc(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<OidcIn>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<OidcOut>> {
        scope.entitlements.require(Feature::Sso)?;
        let org = scope.org();
        let settings = oidc_settings(&body)?;
        Provider::discover(&state.outbound, &settings, None, "https://beacon.invalid/")
            .await
            .map_err(|error| match error {
                SsoError::Provider(why) | SsoError::Settings(why) => {
                    ApiError::invalid(ProblemKind::InvalidSsoSettings, why)
                }
                other => other.into(),
            })?;
        let secret = body
            .client_secret
            .as_deref()
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .map(|secret| {
                state
                    .sealing_key
                    .seal(secret.as_bytes(), &secret_context(org))
            });
        let stored = serde_json::to_value(&settings).map_err(ApiError::internal)?;
        let default_role: Role = body.default_role.unwrap_or(GrantedRole::Member).into();
        let new_secret = secret.is_some();
        let change = ConnectionChange {
            enabled: body.enabled.unwrap_or(true),
            settings: &stored,
            secret: secret.as_deref(),
            default_role,
        };
        let change = &change;
        let connection = scope
            .run(async |conn| {
                let before = sso::connection(conn, org, Kind::Oidc).await?;
                if before.is_none() && !new_secret {
                    return Err(ApiError::invalid(
                        ProblemKind::InvalidSsoSettings,
                        "a new connection needs the client secret",
                    ));
                }
                sso::save_connection(conn, org, Kind::Oidc, change).await?;
                let mut after = json!(settings);
                after["enabled"] = change.enabled.into();
                after["default_role"] = default_role.as_str().into();
                let mut changes = match &before {
                    Some(before) => {
                        let mut was = before.settings.clone();
                        was["enabled"] = before.enabled.into();
                        was["default_role"] = before.default_role.clone().into();
                        Changes::diff(&was, &after)
                    }
                    None => Changes::created(after),
                };
                if new_secret {
                    changes = changes.secret("client_secret");
                }
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::SsoConnectionSaved, "oidc").with(changes),
                )
                .await?;
                sso::connection(conn, org, Kind::Oidc)
                    .await?
                    .ok_or_else(|| ApiError::internal("the connection just saved is missing"))
            })
            .await?;
        Ok(Json(oidc_out(&connection)?))
    }

    /// Remove the OIDC connection (owners); 409 while SSO is required and it is the only
    /// enabled connection.
    #[oai(
        path = "/:org_id/sso/oidc",
        method = "delete",
        operation_id = "delete_oidc_connection"
    )]
    async fn delete_oidc(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<NoContent> {
        let org = scope.org();
        scope
            .run(async |conn| remove_connection(conn, org, Kind::Oidc).await)
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Require SSO for members, and set how long SSO sessions last (owners). Requiring it
    /// needs an enabled connection and a verified domain (409 otherwise). Owners keep their
    /// password sign-in as the way back in.
    #[oai(
        path = "/:org_id/sso/policy",
        method = "put",
        operation_id = "set_sso_policy"
    )]
    async fn set_policy(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<PolicyIo>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<PolicyIo>> {
        scope.entitlements.require(Feature::Sso)?;
        let org = scope.org();
        let policy = Policy {
            enforced: body.enforced,
            session_hours: body.session_hours,
        };
        scope
            .run(async |conn| {
                if policy.enforced {
                    let enabled = sso::connections(conn, org).await?.iter().any(|c| c.enabled);
                    let verified = org_domains::list(conn, org)
                        .await?
                        .iter()
                        .any(|d| d.verified_at.is_some());
                    if !enabled || !verified {
                        return Err(ApiError::conflict(
                            ProblemKind::Conflict,
                            "requiring SSO needs an enabled connection and a verified domain",
                        ));
                    }
                }
                let before = sso::policy(conn, org).await?;
                sso::set_policy(conn, org, policy).await?;
                let changes = Changes::diff(
                    &json!({ "enforced": before.enforced, "session_hours": before.session_hours }),
                    &json!({ "enforced": policy.enforced, "session_hours": policy.session_hours }),
                );
                if !changes.is_empty() {
                    audit::record(
                        conn,
                        org,
                        Entry::new(Action::SsoPolicyChanged, org).with(changes),
                    )
                    .await?;
                }
                Ok(())
            })
            .await?;
        Ok(Json(PolicyIo {
            enforced: policy.enforced,
            session_hours: policy.session_hours,
        }))
    }

    /// Replace the group-to-role mapping (owners): SSO sign-ins and SCIM groups give the
    /// highest role among a person's groups.
    #[oai(
        path = "/:org_id/sso/group-roles",
        method = "put",
        operation_id = "set_sso_group_roles"
    )]
    async fn set_group_roles(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<GroupRolesIo>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<GroupRolesIo>> {
        scope.entitlements.require(Feature::Sso)?;
        let org = scope.org();
        let mut mapping: Vec<(String, Role)> = Vec::new();
        for rule in &body.mappings {
            let group = rule.group.trim().to_owned();
            if group.is_empty() || mapping.iter().any(|(g, _)| *g == group) {
                return Err(ApiError::invalid(
                    ProblemKind::InvalidSsoSettings,
                    format!("group {group:?} is empty or listed twice"),
                ));
            }
            mapping.push((group, rule.role.into()));
        }
        scope
            .run(async |conn| {
                let before = sso::group_roles(conn, org).await?;
                sso::replace_group_roles(conn, org, &mapping).await?;
                let as_json = |rows: Vec<(String, String)>| {
                    Value::Object(
                        rows.into_iter()
                            .map(|(g, r)| (g, Value::String(r)))
                            .collect(),
                    )
                };
                let after: Vec<(String, String)> = mapping
                    .iter()
                    .map(|(g, r)| (g.clone(), r.as_str().to_owned()))
                    .collect();
                let changes = Changes::diff(&as_json(before), &as_json(after));
                if !changes.is_empty() {
                    audit::record(
                        conn,
                        org,
                        Entry::new(Action::SsoGroupRolesChanged, org).with(changes),
                    )
                    .await?;
                }
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Json(GroupRolesIo {
            mappings: mapping
                .into_iter()
                .map(|(group, role)| GroupRole {
                    group: Text(group),
                    role: granted(role.as_str()),
                })
                .collect(),
        }))
    }

    /// Start a test sign-in (owners): open `url` in the browser, sign in at the provider, and
    /// Beacon comes back to the SSO settings with `?sso_test=<test_id>` instead of signing
    /// anyone in; `GET …/sso/tests/{test_id}` then shows what the provider sent.
    #[oai(
        path = "/:org_id/sso/oidc/test",
        method = "post",
        operation_id = "test_oidc_connection"
    )]
    async fn test_oidc(
        &self,
        state: Data<&AppState>,
        req: &Request,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<StartOut> {
        scope.entitlements.require(Feature::Sso)?;
        let org = scope.org();
        scope.run(async |_| Ok::<_, ApiError>(())).await?;
        begin(&state, req, org, Kind::Oidc, sso::Purpose::Test, None).await
    }

    /// What a test sign-in received (owners).
    #[oai(
        path = "/:org_id/sso/tests/:test_id",
        method = "get",
        operation_id = "get_sso_test"
    )]
    async fn get_test(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        test_id: Path<String>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<TestOut>> {
        let org = scope.org();
        let id = hex::decode(test_id.as_str())
            .ok()
            .filter(|id| id.len() == 32)
            .ok_or_else(|| ApiError::not_found("test sign-in"))?;
        let outcome = scope
            .run(async |conn| Ok::<_, ApiError>(sso::test_outcome(conn, org, &id).await?))
            .await?;
        Ok(Json(TestOut {
            complete: outcome.is_some(),
            ok: outcome.as_ref().map(|o| o.get("error").is_none()),
            outcome,
        }))
    }
}

/// Removes the organization's `kind` connection and records it; 409 while SSO is required and
/// it is the last enabled connection.
pub(crate) async fn remove_connection(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    org: tenant::OrgId,
    kind: Kind,
) -> ApiResult<()> {
    let others_enabled = sso::connections(conn, org)
        .await?
        .iter()
        .any(|c| c.enabled && c.kind != kind.as_str());
    if sso::policy(conn, org).await?.enforced && !others_enabled {
        return Err(ApiError::conflict(
            ProblemKind::Conflict,
            "single sign-on is required: turn that off before removing the connection",
        ));
    }
    if !sso::delete_connection(conn, org, kind).await? {
        return Err(ApiError::not_found("SSO connection"));
    }
    audit::record(
        conn,
        org,
        Entry::new(Action::SsoConnectionDeleted, kind.as_str()),
    )
    .await?;
    Ok(())
}

/// Where a connection's sealed secret belongs (its associated data).
pub fn secret_context(org: tenant::OrgId) -> String {
    format!("sso:oidc:{}", org.uuid())
}
