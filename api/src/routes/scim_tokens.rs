//! The organization's SCIM tokens (owners): made, listed, revoked. A token is shown once, when
//! made; Beacon keeps only its hash. Gated by the plan's `scim` feature when billing is on.

use billing::Feature;
use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::scim::{self, Token};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::pagination::Page;
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{OrgScope, Owner};
use crate::state::AppState;

/// A token to make.
#[derive(Debug, Object)]
pub struct ScimTokenIn {
    /// What it is for (e.g. "Okta").
    #[oai(validator(max_length = 100))]
    pub name: Text,
}

/// A SCIM token (never its secret).
#[derive(Debug, Object)]
pub struct ScimTokenOut {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just made, with its secret (shown this once).
#[derive(Debug, Object)]
pub struct ScimTokenCreated {
    /// The token.
    pub token: ScimTokenOut,
    /// Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
    /// The SCIM base URL to give the identity provider.
    pub scim_url: Option<String>,
}

fn token_out(token: Token) -> ScimTokenOut {
    ScimTokenOut {
        id: token.token_id,
        name: token.name,
        created_by: token.created_by,
        created_at: token.created_at,
        last_used_at: token.last_used_at,
        revoked_at: token.revoked_at,
    }
}

/// SCIM tokens.
#[derive(Default)]
pub struct ScimTokensApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Organizations")]
impl ScimTokensApi {
    /// The organization's SCIM tokens (owners).
    #[oai(
        path = "/:org_id/scim/tokens",
        method = "get",
        operation_id = "list_scim_tokens"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<Page<ScimTokenOut>>> {
        let org = scope.org();
        let tokens = scope
            .run(async |conn| Ok::<_, ApiError>(scim::tokens(conn, org).await?))
            .await?;
        Ok(Json(Page {
            items: tokens.into_iter().map(token_out).collect(),
            next_cursor: None,
        }))
    }

    /// Make a SCIM token (owners): the secret is in this answer only.
    #[oai(
        path = "/:org_id/scim/tokens",
        method = "post",
        operation_id = "create_scim_token"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        req: &Request,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<ScimTokenIn>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Created<ScimTokenCreated>> {
        scope.entitlements.require(Feature::Scim)?;
        let name = body.name.trim().to_owned();
        if name.is_empty() {
            return Err(ApiError::invalid(
                ProblemKind::InvalidName,
                "the token needs a name",
            ));
        }
        let org = scope.org();
        let user = scope.access.user_id;
        let (token, secret) = scope
            .run(async |conn| {
                let (token, secret) = scim::create_token(conn, org, &name, user).await?;
                let changes = Changes::created(serde_json::json!({"name": name})).secret("secret");
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::ScimTokenCreated, token.token_id).with(changes),
                )
                .await?;
                Ok::<_, ApiError>((token, secret))
            })
            .await?;
        Ok(Created::Created(Json(ScimTokenCreated {
            token: token_out(token),
            secret,
            scim_url: state
                .app_url(req)
                .ok()
                .map(|base| format!("{base}/scim/v2")),
        })))
    }

    /// Revoke a SCIM token (owners): the identity provider's next request is refused.
    #[oai(
        path = "/:org_id/scim/tokens/:token_id",
        method = "delete",
        operation_id = "revoke_scim_token"
    )]
    async fn revoke(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        token_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<NoContent> {
        let org = scope.org();
        let token_id = *token_id;
        scope
            .run(async |conn| {
                if !scim::revoke_token(conn, org, token_id).await? {
                    return Err(ApiError::not_found("SCIM token"));
                }
                audit::record(conn, org, Entry::new(Action::ScimTokenRevoked, token_id)).await?;
                Ok(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }
}
