//! Members of an organization: list, change role, remove. No organization ever loses its last
//! owner: demoting or removing an owner locks the owner rows and counts them first.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use serde_json::json;
use tenant::DbError;
use tenant::UserId;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::memberships::{self, Member, Role};
use uuid::Uuid;

use crate::auth::{Need, OrgAccess};
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::pagination::{Page, fetch_size, parse_cursor};
use crate::routes::responses::NoContent;
use crate::scope::{Admin, OrgScope, Viewer};

/// A role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum RoleDto {
    /// Everything, including deleting the organization.
    Owner,
    /// Members, invitations, API keys, settings.
    Admin,
    /// Projects and their data.
    Member,
    /// Read only.
    Viewer,
}

impl From<RoleDto> for Role {
    fn from(role: RoleDto) -> Self {
        match role {
            RoleDto::Owner => Role::Owner,
            RoleDto::Admin => Role::Admin,
            RoleDto::Member => Role::Member,
            RoleDto::Viewer => Role::Viewer,
        }
    }
}

/// A member.
#[derive(Debug, Object)]
pub struct MemberOut {
    /// User id.
    pub user_id: Uuid,
    /// E-mail address.
    pub email: String,
    /// Role.
    pub role: String,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
    /// The organization's identity provider manages this member (SCIM): their role and
    /// membership change there, not in Beacon.
    pub managed_by_scim: bool,
}

/// A role change.
#[derive(Debug, Object)]
pub struct MemberPatch {
    /// The new role.
    pub role: RoleDto,
}

fn member_out(member: Member, managed: &[Uuid]) -> MemberOut {
    MemberOut {
        managed_by_scim: managed.contains(&member.user_id),
        user_id: member.user_id,
        email: member.email,
        role: member.role,
        joined_at: member.created_at,
    }
}

/// 409 `scim_managed` for a change to a member the identity provider manages (owners are the
/// organization's own, and stay editable).
async fn refuse_if_managed(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    org: tenant::OrgId,
    user: UserId,
    role: Role,
) -> ApiResult<()> {
    if role < Role::Owner && tenant::tables::scim::is_managed(conn, org, user).await? {
        return Err(ApiError::conflict(
            ProblemKind::ScimManaged,
            "this member is managed by the organization's identity provider (SCIM): change their \
             role or membership there",
        ));
    }
    Ok(())
}

/// Only owners may grant, change or take away the owner role.
pub fn check_owner_rights(access: &OrgAccess, touches_owner: bool) -> ApiResult<()> {
    if touches_owner && access.role < Role::Owner {
        return Err(ApiError::forbidden(
            "only an owner can grant or change the owner role",
        ));
    }
    Ok(())
}

fn last_owner() -> ApiError {
    ApiError::conflict(
        ProblemKind::LastOwner,
        "an organization must keep at least one owner; make someone else owner first",
    )
}

/// Member operations.
#[derive(Default)]
pub struct MembersApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Members")]
impl MembersApi {
    /// Members of the organization.
    #[oai(
        path = "/:org_id/members",
        method = "get",
        operation_id = "list_members"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        cursor: Query<Option<String>>,
        limit: Query<Option<i64>>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<Page<MemberOut>>> {
        let org_id = scope.org();
        let after = parse_cursor(cursor.as_deref())?;
        let (rows, managed) = scope
            .run(async |conn| {
                let rows = memberships::list(conn, org_id, after, fetch_size(*limit)).await?;
                let ids: Vec<Uuid> = rows.iter().map(|m| m.user_id).collect();
                let managed = tenant::tables::scim::managed_among(conn, org_id, &ids).await?;
                Ok::<_, DbError>((rows, managed))
            })
            .await?;
        Ok(Json(Page::of(
            rows,
            *limit,
            |m| m.user_id,
            |m| member_out(m, &managed),
        )))
    }

    /// Change a member's role (admins; owners for anything involving the owner role).
    #[oai(
        path = "/:org_id/members/:user_id",
        method = "patch",
        operation_id = "update_member_role"
    )]
    async fn update(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        user_id: Path<Uuid>,
        body: Json<MemberPatch>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<MemberOut>> {
        let org_id = scope.org();
        let user_id = UserId::from_uuid(*user_id);
        let access = scope.access.clone();
        let new_role = Role::from(body.role);
        let member = scope
            .run(async |conn| {
                // Owners first, then the member: every change locks in the same order.
                let owners = memberships::lock_and_count_owners(conn, org_id).await?;
                let current = memberships::lock_role(conn, org_id, user_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("member"))?;
                check_owner_rights(&access, current == Role::Owner || new_role == Role::Owner)?;
                refuse_if_managed(conn, org_id, user_id, current).await?;
                if current == Role::Owner && new_role != Role::Owner && owners <= 1 {
                    return Err(last_owner());
                }
                memberships::set_role(conn, org_id, user_id, new_role).await?;
                if current != new_role {
                    let changes = Changes::default().set(
                        "role",
                        json!(current.as_str()),
                        json!(new_role.as_str()),
                    );
                    let entry = Entry::new(Action::MemberRoleChanged, user_id).with(changes);
                    audit::record(conn, org_id, entry).await?;
                }
                memberships::find(conn, org_id, user_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("member"))
            })
            .await?;
        Ok(Json(member_out(member, &[])))
    }

    /// Remove a member (admins; anyone may remove themselves).
    #[oai(
        path = "/:org_id/members/:user_id",
        method = "delete",
        operation_id = "remove_member"
    )]
    async fn remove(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        user_id: Path<Uuid>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<NoContent> {
        let org_id = scope.org();
        // Anyone may leave; removing someone else takes an admin.
        let access = scope.access.clone();
        let user_id = UserId::from_uuid(*user_id);
        let is_self = access.user_id == Some(user_id);
        if !is_self {
            access.require(Need::Admin)?;
        }
        scope
            .run(async |conn| {
                let owners = memberships::lock_and_count_owners(conn, org_id).await?;
                let current = memberships::lock_role(conn, org_id, user_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("member"))?;
                if !is_self {
                    check_owner_rights(&access, current == Role::Owner)?;
                }
                refuse_if_managed(conn, org_id, user_id, current).await?;
                if current == Role::Owner && owners <= 1 {
                    return Err(last_owner());
                }
                memberships::remove(conn, org_id, user_id).await?;
                let changes = Changes::deleted(json!({ "role": current.as_str() }));
                let entry = Entry::new(Action::MemberRemoved, user_id).with(changes);
                audit::record(conn, org_id, entry).await?;
                Ok(())
            })
            .await?;
        Ok(NoContent::NoContent)
    }
}
