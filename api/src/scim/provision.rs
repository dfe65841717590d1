//! Beacon's membership following the identity provider: an active managed person is a member
//! with the highest role their SCIM groups map to (the SSO group mapping), or the SSO
//! connection's default role (member without one); an inactive or deleted one is removed, and
//! their sessions and the API keys they made in the organization are revoked at once.
//! Owners are the organization's own: SCIM never changes or removes an owner.

use serde_json::json;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::diesel_async::AsyncPgConnection;
use tenant::tables::memberships::{self, Role};
use tenant::tables::sso::{self, Kind};
use tenant::tables::{api_keys, org_domains, scim, user_sessions, users};
use tenant::{OrgId, UserId};
use uuid::Uuid;

use crate::scim::ScimError;

/// The role an active managed person has by their groups.
async fn role_for(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    scim_id: Uuid,
) -> Result<Role, ScimError> {
    let groups: Vec<String> = scim::groups_of(conn, org, scim_id)
        .await?
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    if let Some(role) = sso::role_for_groups(conn, org, &groups).await? {
        return Ok(role);
    }
    let default = sso::connection(conn, org, Kind::Oidc)
        .await?
        .and_then(|c| Role::parse(&c.default_role));
    Ok(default.unwrap_or(Role::Member))
}

/// Brings the membership of the account linked to the managed person `scim_id` in line with
/// their SCIM state, recording each change (nothing while no account is linked).
pub async fn sync(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    scim_id: Uuid,
) -> Result<(), ScimError> {
    let Some(row) = scim::user(conn, org, scim_id).await? else {
        return Ok(());
    };
    let Some(user) = row.user_id.map(UserId::from_uuid) else {
        return Ok(());
    };
    let current = memberships::lock_role(conn, org, user).await?;
    if current == Some(Role::Owner) {
        return Ok(());
    }
    if !row.active {
        return leave(conn, org, user, row.created_account).await;
    }
    let role = role_for(conn, org, scim_id).await?;
    match current {
        None => {
            memberships::upsert(conn, org, user, role).await?;
            let changes = Changes::created(json!({"role": role.as_str(), "via": "scim"}));
            audit::record(
                conn,
                org,
                Entry::new(Action::MemberProvisioned, user).with(changes),
            )
            .await?;
        }
        Some(was) if was != role => {
            memberships::set_role(conn, org, user, role).await?;
            let changes = Changes::default().set("role", was.as_str().into(), role.as_str().into());
            audit::record(
                conn,
                org,
                Entry::new(Action::MemberRoleChanged, user).with(changes),
            )
            .await?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Removes `user` from the organization if they are a member and not an owner, revoking
/// their sessions and keys ([`deprovision`]).
pub async fn leave(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
    created_account: bool,
) -> Result<(), ScimError> {
    match memberships::lock_role(conn, org, user).await? {
        Some(role) if role < Role::Owner => deprovision(conn, org, user, created_account).await,
        _ => Ok(()),
    }
}

/// Removes `user` from the organization and revokes, in this transaction, the API keys they
/// made there and their sessions: all of them when their account belongs to the organization
/// (provisioned by it, or with an address in its verified domains), else those its single
/// sign-on started.
async fn deprovision(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    user: UserId,
    created_account: bool,
) -> Result<(), ScimError> {
    memberships::remove(conn, org, user).await?;
    let keys = api_keys::revoke_created_by(conn, org, user.uuid()).await?;
    let email = users::find(conn, user.uuid())
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let ours = created_account
        || org_domains::find(conn, org, domain)
            .await?
            .is_some_and(|d| d.verified_at.is_some());
    let sessions = if ours {
        user_sessions::delete_all_for_user(conn, user).await?;
        "all"
    } else {
        user_sessions::delete_sso_sessions(conn, user, org).await?;
        "this organization's single sign-on"
    };
    let changes = Changes::deleted(json!({
        "via": "scim",
        "api_keys_revoked": keys.len(),
        "sessions_revoked": sessions,
    }));
    audit::record(
        conn,
        org,
        Entry::new(Action::MemberRemoved, user).with(changes),
    )
    .await?;
    Ok(())
}
