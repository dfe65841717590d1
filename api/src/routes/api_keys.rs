//! API keys: created by admins, shown once, stored hashed, revocable.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use serde_json::json;
use tenant::DbError;
use tenant::ProjectId;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::api_keys::{self, ApiKey};
use tenant::tables::projects;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::orgs::clean_name;
use crate::routes::pagination::{Page, fetch_size, parse_cursor};
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Admin, OrgScope};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ScopeDto {
    /// Read data and settings.
    Read,
    /// Change projects and data.
    Write,
    /// Send events.
    Ingest,
    /// Manage members, invitations and keys.
    Admin,
}

impl ScopeDto {
    fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Ingest => "ingest",
            Self::Admin => "admin",
        }
    }
}

/// A new key.
#[derive(Debug, Object)]
pub struct ApiKeyIn {
    /// Name, to recognise it later.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Text,
    /// Scopes; at least one.
    #[oai(validator(min_items = 1, max_items = 4))]
    pub scopes: Vec<ScopeDto>,
    /// Limit the key to these projects; omit for every project.
    #[oai(validator(max_items = 100))]
    pub project_ids: Option<Vec<Uuid>>,
}

/// A key, without its secret.
#[derive(Debug, Object)]
pub struct ApiKeyOut {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// First characters of the key.
    pub prefix: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Projects it is limited to, if any.
    pub project_ids: Option<Vec<Uuid>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last use, to the minute (a key used again within a minute is not marked again).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just created, with its secret: shown this once.
#[derive(Debug, Object)]
pub struct ApiKeyCreated {
    /// The key.
    pub key: ApiKeyOut,
    /// The full key for `Authorization: Bearer`. It cannot be shown again.
    pub secret: String,
}

fn key_out(key: ApiKey) -> ApiKeyOut {
    ApiKeyOut {
        id: key.key_id,
        name: key.name,
        prefix: key.prefix,
        scopes: key.scopes,
        project_ids: key.project_ids,
        created_at: key.created_at,
        last_used_at: key.last_used_at,
        revoked_at: key.revoked_at,
    }
}

/// API key operations.
#[derive(Default)]
pub struct ApiKeysApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::ApiKeys")]
impl ApiKeysApi {
    /// Keys of the organization (admins).
    #[oai(
        path = "/:org_id/api-keys",
        method = "get",
        operation_id = "list_api_keys"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        cursor: Query<Option<String>>,
        limit: Query<Option<i64>>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<Page<ApiKeyOut>>> {
        let org_id = scope.org();
        let after = parse_cursor(cursor.as_deref())?;
        let rows = scope
            .run(async |conn| {
                Ok::<_, DbError>(api_keys::list(conn, org_id, after, fetch_size(*limit)).await?)
            })
            .await?;
        Ok(Json(Page::of(rows, *limit, |k| k.key_id, key_out)))
    }

    /// Create a key (signed-in admins; a key cannot mint keys). The response holds the secret,
    /// shown only this once.
    #[oai(
        path = "/:org_id/api-keys",
        method = "post",
        operation_id = "create_api_key"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<ApiKeyIn>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Created<ApiKeyCreated>> {
        let org_id = scope.org();
        let access = scope.access.clone();
        // A key minting keys could widen its own scopes or project limits.
        scope.caller.user()?;
        let name = clean_name(&body.name)?;
        let mut scopes: Vec<String> = body.scopes.iter().map(|s| s.as_str().to_owned()).collect();
        scopes.sort();
        scopes.dedup();
        let project_ids = body.project_ids.clone();
        let creator = access.user_id.map(|u| u.uuid());
        let (key, secret) = scope
            .run(async |conn| {
                if let Some(ids) = &project_ids {
                    for id in ids {
                        if projects::find(conn, org_id, ProjectId::from_uuid(*id))
                            .await?
                            .is_none()
                        {
                            return Err(ApiError::invalid(
                                ProblemKind::UnknownProject,
                                format!("project {id} does not exist in this organization"),
                            ));
                        }
                    }
                }
                let (key, secret) = api_keys::create(
                    conn,
                    org_id,
                    &name,
                    &scopes,
                    project_ids.as_deref(),
                    creator,
                )
                .await?;
                let changes = Changes::created(json!({
                    "name": key.name,
                    "prefix": key.prefix,
                    "scopes": key.scopes,
                    "project_ids": key.project_ids,
                }))
                .secret("secret");
                audit::record(
                    conn,
                    org_id,
                    Entry::new(Action::ApiKeyCreated, key.key_id).with(changes),
                )
                .await?;
                Ok((key, secret))
            })
            .await?;
        Ok(Created::Created(Json(ApiKeyCreated {
            key: key_out(key),
            secret,
        })))
    }

    /// Revoke a key (admins).
    #[oai(
        path = "/:org_id/api-keys/:key_id",
        method = "delete",
        operation_id = "revoke_api_key"
    )]
    async fn revoke(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        key_id: Path<Uuid>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<NoContent> {
        let org_id = scope.org();
        let revoked = scope
            .run(async |conn| {
                let revoked = api_keys::revoke(conn, org_id, *key_id).await?;
                if revoked {
                    audit::record(conn, org_id, Entry::new(Action::ApiKeyRevoked, *key_id)).await?;
                }
                Ok::<_, DbError>(revoked)
            })
            .await?;
        if !revoked {
            return Err(ApiError::not_found("API key"));
        }
        Ok(NoContent::NoContent)
    }
}
