//! Organizations: list, create, read, rename, delete with confirmation.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::memberships::{self, Role};
use tenant::tables::organizations::{self, Organization};
use tenant::{Actor, DbError, OrgId};
use uuid::Uuid;

use crate::auth::{Auth, Caller, Need};
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::pagination::{Page, fetch_size, parse_cursor};
use crate::routes::responses::Created;
use crate::routes::text::Text;
use crate::scope::{Admin, OrgScope, Owner, Viewer, request_context};
use crate::state::AppState;

/// A new organization.
#[derive(Debug, Object)]
pub struct OrganizationIn {
    /// Name, 1 to 100 characters.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Text,
}

/// Confirmation for deleting an organization.
#[derive(Debug, Object)]
pub struct DeleteOrganizationIn {
    /// The organization's exact name, typed again.
    #[oai(validator(max_length = 100))]
    pub confirm_name: Text,
}

/// An organization, with the caller's role in it.
#[derive(Debug, Object)]
pub struct OrganizationOut {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The caller's role (for API keys: the role their scopes act as).
    pub role: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Erasure requested: every row of the organization is deleted after this time unless an
    /// owner cancels (`POST …/erasure/cancel`).
    pub erase_after: Option<DateTime<Utc>>,
}

/// Trims and checks a display name.
pub fn clean_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            ProblemKind::InvalidName,
            "the name must have 1 to 100 characters and no control characters",
        ));
    }
    Ok(name.to_owned())
}

/// An organization as the API answers it, with the caller's `role`.
pub fn org_out(org: Organization, role: &str) -> OrganizationOut {
    OrganizationOut {
        id: org.org_id,
        name: org.name,
        role: role.to_owned(),
        created_at: org.created_at,
        erase_after: org.erase_after,
    }
}

/// Organization operations.
#[derive(Default)]
pub struct OrgsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Organizations")]
impl OrgsApi {
    /// Organizations the caller belongs to (for an API key: its own).
    #[oai(path = "/", method = "get", operation_id = "list_organizations")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        cursor: Query<Option<String>>,
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<Page<OrganizationOut>>> {
        let after = parse_cursor(cursor.as_deref())?;
        let rows = match &auth.0 {
            Caller::User { user_id, .. } => {
                let user = user_id.uuid();
                state
                    .db
                    .user_scoped(*user_id, async |conn| {
                        Ok::<_, DbError>(
                            organizations::list_for_user(
                                conn,
                                tenant::UserId::from_uuid(user),
                                after,
                                fetch_size(*limit),
                            )
                            .await?,
                        )
                    })
                    .await?
            }
            Caller::Key { org, .. } => {
                let access = auth.org(&state, org.uuid(), Need::Read).await?;
                let org_id = org.uuid();
                let org = state
                    .db
                    .scoped(*org, async |conn| {
                        Ok::<_, DbError>(organizations::get(conn, OrgId::from_uuid(org_id)).await?)
                    })
                    .await?;
                org.filter(|org| after.is_none_or(|after| org.org_id > after))
                    .map(|org| vec![(org, access.role.as_str().to_owned())])
                    .unwrap_or_default()
            }
        };
        Ok(Json(Page::of(
            rows,
            *limit,
            |(org, _)| org.org_id,
            |(org, role)| org_out(org, &role),
        )))
    }

    /// Create an organization; the signed-in caller becomes its owner.
    #[oai(path = "/", method = "post", operation_id = "create_organization")]
    async fn create(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: Auth,
        body: Json<OrganizationIn>,
    ) -> ApiResult<Created<OrganizationOut>> {
        let user = auth.user()?;
        let name = clean_name(&body.name)?;
        let org = OrgId::generate();
        let org_id = org.uuid();
        let context = request_context(req, &state);
        let created = state
            .db
            .scoped_as_for(org, &Actor::User(user), &context, async |conn| {
                let created = organizations::create(conn, OrgId::from_uuid(org_id), &name).await?;
                memberships::upsert(conn, OrgId::from_uuid(org_id), user, Role::Owner).await?;
                let entry = Entry::new(Action::OrganizationCreated, org_id)
                    .with(Changes::created(json!({ "name": created.name })));
                audit::record(conn, org, entry).await?;
                Ok::<_, DbError>(created)
            })
            .await?;
        Ok(Created::Created(Json(org_out(
            created,
            Role::Owner.as_str(),
        ))))
    }

    /// One organization.
    #[oai(path = "/:org_id", method = "get", operation_id = "get_organization")]
    async fn get(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<OrganizationOut>> {
        let org_id = scope.org();
        let access = scope.access.clone();
        let org = scope
            .run(async |conn| Ok::<_, DbError>(organizations::get(conn, org_id).await?))
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        Ok(Json(org_out(org, access.role.as_str())))
    }

    /// Rename an organization (admins and owners).
    #[oai(
        path = "/:org_id",
        method = "patch",
        operation_id = "rename_organization"
    )]
    async fn rename(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<OrganizationIn>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<OrganizationOut>> {
        let org_id = scope.org();
        let access = scope.access.clone();
        let name = clean_name(&body.name)?;
        let org = scope
            .run(async |conn| {
                let Some(before) = organizations::get(conn, org_id).await? else {
                    return Ok(None);
                };
                let renamed = organizations::rename(conn, org_id, &name).await?;
                if before.name != name {
                    let entry = Entry::new(Action::OrganizationRenamed, org_id)
                        .with(Changes::default().set("name", json!(before.name), json!(name)));
                    audit::record(conn, org_id, entry).await?;
                }
                Ok::<_, DbError>(renamed)
            })
            .await?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        Ok(Json(org_out(org, access.role.as_str())))
    }

    /// Erase an organization and everything in it (owners; the name must be confirmed):
    /// the erasure happens after a seven-day window in which an owner can cancel it
    /// (`POST …/erasure/cancel`); then every row of the organization is deleted, and only its id
    /// and its audit chain's final checkpoint remain.
    #[oai(
        path = "/:org_id",
        method = "delete",
        operation_id = "delete_organization"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<DeleteOrganizationIn>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<ErasureResponse> {
        let org_id = scope.org();
        let user = scope.caller.user()?;
        let role = scope.access.role;
        let confirm = body.confirm_name.clone();
        let erase_after = state.clock.now() + chrono::Duration::days(ERASURE_UNDO_DAYS);
        let org = scope
            .run(async |conn| {
                let org = organizations::get(conn, org_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("organization"))?;
                if org.name != *confirm {
                    return Err(ApiError::invalid(
                        ProblemKind::ConfirmationMismatch,
                        "confirm_name must equal the organization's name exactly",
                    ));
                }
                if org.erase_after.is_some() {
                    return Ok(org);
                }
                let org = organizations::request_erasure(conn, org_id, erase_after, user)
                    .await?
                    .ok_or_else(|| ApiError::not_found("organization"))?;
                let entry = Entry::new(Action::OrganizationErasureRequested, org_id).with(
                    Changes::default().set("erase_after", json!(null), json!(org.erase_after)),
                );
                audit::record(conn, org_id, entry).await?;
                Ok(org)
            })
            .await?;
        Ok(ErasureResponse::Accepted(Json(org_out(org, role.as_str()))))
    }

    /// Cancel a pending erasure (owners).
    #[oai(
        path = "/:org_id/erasure/cancel",
        method = "post",
        operation_id = "cancel_organization_erasure"
    )]
    async fn cancel_erasure(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<OrganizationOut>> {
        let org_id = scope.org();
        let role = scope.access.role;
        let org = scope
            .run(async |conn| {
                let Some(before) = organizations::get(conn, org_id).await? else {
                    return Err(ApiError::not_found("organization"));
                };
                let org = organizations::cancel_erasure(conn, org_id)
                    .await?
                    .ok_or_else(|| {
                        ApiError::conflict(ProblemKind::Conflict, "no erasure is pending")
                    })?;
                let entry = Entry::new(Action::OrganizationErasureCancelled, org_id).with(
                    Changes::default().set("erase_after", json!(before.erase_after), json!(null)),
                );
                audit::record(conn, org_id, entry).await?;
                Ok(org)
            })
            .await?;
        Ok(Json(org_out(org, role.as_str())))
    }
}

/// Days between an erasure request and the erasure (an owner can cancel in between).
pub const ERASURE_UNDO_DAYS: i64 = 7;

/// An erasure request's answer.
#[derive(ApiResponse)]
pub enum ErasureResponse {
    /// The erasure is scheduled: `erase_after` says when.
    #[oai(status = 202)]
    Accepted(Json<OrganizationOut>),
}
