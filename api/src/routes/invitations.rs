//! Invitations: admins invite by e-mail; the invitee accepts with the e-mailed link while
//! signed in with that address.

use chrono::{DateTime, Duration, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::invitations::{self, Invitation};
use tenant::tables::memberships::{self, Role};
use tenant::tables::{organizations, users};
use tenant::{Actor, DbError, OrgId};
use uuid::Uuid;
use worker::Job;
use worker::jobs::SendInvitation;

use crate::auth::Auth;
use billing::Limit;
use billing::gates;

use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::routes::auth::normalize_email;
use crate::routes::members::{RoleDto, check_owner_rights};
use crate::routes::orgs::{OrganizationOut, org_out};
use crate::routes::pagination::{Page, fetch_size, parse_cursor};
use crate::routes::responses::{Created, NoContent};
use crate::routes::text::Text;
use crate::scope::{Admin, OrgScope, request_context};
use crate::state::AppState;

/// Days an invitation stays valid.
pub const INVITATION_DAYS: i64 = 7;

/// A new invitation.
#[derive(Debug, Object)]
pub struct InvitationIn {
    /// Address to invite.
    #[oai(validator(max_length = 254))]
    pub email: Text,
    /// Role granted on acceptance.
    pub role: RoleDto,
}

/// An invitation.
#[derive(Debug, Object)]
pub struct InvitationOut {
    /// Id.
    pub id: Uuid,
    /// Invited address.
    pub email: String,
    /// Role granted on acceptance.
    pub role: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
}

/// The accept token from the invitation e-mail.
#[derive(Debug, Object)]
pub struct AcceptInvitationIn {
    /// Token (`<org>.<secret>`).
    #[oai(validator(max_length = 200))]
    pub token: Text,
}

fn invitation_out(invitation: Invitation) -> InvitationOut {
    InvitationOut {
        id: invitation.invitation_id,
        email: invitation.email,
        role: invitation.role,
        created_at: invitation.created_at,
        expires_at: invitation.expires_at,
    }
}

/// Invitation operations inside an organization.
#[derive(Default)]
pub struct InvitationsApi;

#[OpenApi(prefix_path = "/api/v1/orgs", tag = "ApiTags::Members")]
impl InvitationsApi {
    /// Pending invitations.
    #[oai(
        path = "/:org_id/invitations",
        method = "get",
        operation_id = "list_invitations"
    )]
    async fn list(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        cursor: Query<Option<String>>,
        limit: Query<Option<i64>>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Json<Page<InvitationOut>>> {
        let org_id = scope.org();
        let after = parse_cursor(cursor.as_deref())?;
        let rows = scope
            .run(async |conn| {
                Ok::<_, DbError>(
                    invitations::list_pending(conn, org_id, after, fetch_size(*limit)).await?,
                )
            })
            .await?;
        Ok(Json(Page::of(
            rows,
            *limit,
            |i| i.invitation_id,
            invitation_out,
        )))
    }

    /// Invite someone by e-mail (admins; owners to invite owners).
    #[oai(
        path = "/:org_id/invitations",
        method = "post",
        operation_id = "create_invitation"
    )]
    async fn create(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<InvitationIn>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<Created<InvitationOut>> {
        let org_id = scope.org();
        let access = scope.access.clone();
        let inviter = scope.caller.user()?;
        let role = Role::from(body.role);
        check_owner_rights(&access, role == Role::Owner)?;
        let email = normalize_email(&body.email)?;
        let entitlements = scope.entitlements.clone();
        let invitation = scope
            .run(async |conn| {
                gates::ensure_room(conn, org_id, &entitlements, Limit::Seats).await?;
                let invitation = invitations::create(
                    conn,
                    org_id,
                    &email,
                    role.as_str(),
                    inviter.uuid(),
                    Duration::days(INVITATION_DAYS),
                )
                .await?;
                worker::queue::enqueue(
                    conn,
                    &Job::SendInvitation(SendInvitation {
                        org_id: org_id.uuid(),
                        invitation_id: invitation.invitation_id,
                    }),
                )
                .await?;
                let changes = Changes::created(json!({
                    "email": invitation.email,
                    "role": invitation.role,
                    "expires_at": invitation.expires_at,
                }));
                let entry =
                    Entry::new(Action::InvitationCreated, invitation.invitation_id).with(changes);
                audit::record(conn, org_id, entry).await?;
                Ok::<_, ApiError>(invitation)
            })
            .await?;
        Ok(Created::Created(Json(invitation_out(invitation))))
    }

    /// Withdraw an invitation.
    #[oai(
        path = "/:org_id/invitations/:invitation_id",
        method = "delete",
        operation_id = "revoke_invitation"
    )]
    async fn revoke(
        &self,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        invitation_id: Path<Uuid>,
        scope: OrgScope<Admin>,
    ) -> ApiResult<NoContent> {
        let org_id = scope.org();
        let deleted = scope
            .run(async |conn| {
                let deleted = invitations::delete(conn, org_id, *invitation_id).await?;
                if deleted {
                    let entry = Entry::new(Action::InvitationRevoked, *invitation_id);
                    audit::record(conn, org_id, entry).await?;
                }
                Ok::<_, DbError>(deleted)
            })
            .await?;
        if !deleted {
            return Err(ApiError::not_found("invitation"));
        }
        Ok(NoContent::NoContent)
    }
}

/// Accepting an invitation (outside any organization path: the token names it).
#[derive(Default)]
pub struct AcceptInvitationApi;

#[OpenApi(prefix_path = "/api/v1/invitations", tag = "ApiTags::Members")]
impl AcceptInvitationApi {
    /// Accept an invitation, signed in with the invited address.
    #[oai(path = "/accept", method = "post", operation_id = "accept_invitation")]
    async fn accept(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: Auth,
        body: Json<AcceptInvitationIn>,
    ) -> ApiResult<Json<OrganizationOut>> {
        let user_id = auth.user()?;
        let context = request_context(req, &state);
        let invalid = || {
            ApiError::bad_request(
                ProblemKind::TokenInvalid,
                "this invitation link is not valid",
            )
        };
        let (org_part, secret) = body.token.split_once('.').ok_or_else(invalid)?;
        let org_id = OrgId::from_uuid(Uuid::try_parse(org_part).map_err(|_| invalid())?);
        let secret = secret.to_owned();
        let user = state
            .db
            .unscoped(async |conn| Ok::<_, DbError>(users::find(conn, user_id.uuid()).await?))
            .await?
            .ok_or_else(|| ApiError::unauthorized("the account no longer exists"))?;
        let (org, role) = state
            .db
            .scoped_as_for(org_id, &Actor::User(user_id), &context, async |conn| {
                let invitation = invitations::lock_by_token(conn, org_id, &secret)
                    .await?
                    .ok_or_else(invalid)?;
                if invitation.accepted_at.is_some() {
                    return Err(ApiError::new(
                        poem::http::StatusCode::GONE,
                        ProblemKind::TokenUsed,
                        "this invitation has already been accepted",
                    ));
                }
                if invitation.expires_at <= Utc::now() {
                    return Err(ApiError::new(
                        poem::http::StatusCode::GONE,
                        ProblemKind::TokenExpired,
                        "this invitation has expired; ask for a new one",
                    ));
                }
                if invitation.email != user.email {
                    return Err(ApiError::forbidden_kind(
                        ProblemKind::InvitationEmailMismatch,
                        "this invitation was sent to another address; sign in with that one",
                    ));
                }
                let invited = Role::parse(&invitation.role).unwrap_or(Role::Viewer);
                let existing = memberships::role_of(conn, org_id, user_id).await?;
                let role = existing.map_or(invited, |current| current.max(invited));
                memberships::upsert(conn, org_id, user_id, role).await?;
                if !invitations::mark_accepted(conn, org_id, invitation.invitation_id).await? {
                    return Err(ApiError::new(
                        poem::http::StatusCode::GONE,
                        ProblemKind::TokenUsed,
                        "this invitation has already been accepted",
                    ));
                }
                let org = organizations::get(conn, org_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("organization"))?;
                let changes = Changes::default()
                    .set(
                        "role",
                        json!(existing.map(Role::as_str)),
                        json!(role.as_str()),
                    )
                    .set(
                        "invitation_id",
                        json!(null),
                        json!(invitation.invitation_id),
                    );
                let entry = Entry::new(Action::MemberJoined, user_id).with(changes);
                audit::record(conn, org_id, entry).await?;
                Ok((org, role))
            })
            .await?;
        Ok(Json(org_out(org, role.as_str())))
    }
}
