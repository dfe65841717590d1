//! Single sign-on: an organization's identity provider vouches for who signs in.
//!
//! The flow for every kind: the login page asks for an e-mail; the domain's organization (the
//! one that verified it, [`tenant::tables::sso::realm`]) has a connection, so the browser goes to
//! the identity provider with a fresh state; the provider sends it back to that organization's
//! callback, which takes the state once, checks what the provider vouched for ([`oidc`]), and
//! admits the person ([`admit`]): the e-mail must be in one of the organization's verified
//! domains, a first sign-in creates the user and the membership (just in time), and the
//! session it opens belongs to that organization's SSO and lasts as long as its policy says.
//!
//! A response for organization A is checked against A's connection and admits into A only: the
//! organization is in the callback's path, the state was stored in A's scope, and the e-mail
//! must be in A's verified domains.

pub mod http;
pub mod oidc;
pub mod saml;
pub mod saml_shape;

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use serde_json::Value;
use tenant::audit::{self, Action, Changes, Entry};
use tenant::diesel_async::AsyncPgConnection;
use tenant::problem::ProblemKind;
use tenant::tables::memberships::{self, Role};
use tenant::tables::sso::{self, Kind};
use tenant::tables::{org_domains, users};
use tenant::{OrgId, UserId};

use crate::error::ApiError;

/// What an identity provider vouched for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// The provider's stable id of the person (OIDC `sub`, SAML `NameID`).
    pub subject: String,
    /// Their e-mail address, from the configured claim or attribute.
    pub email: Option<String>,
    /// Whether the provider says the address is verified (absent: not said).
    pub email_verified: Option<bool>,
    /// Their groups, from the configured claim or attribute.
    pub groups: Vec<String>,
    /// Everything the provider sent about them, for an owner's connection test.
    pub received: Value,
}

/// Why a single sign-on did not go through.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The state is unknown, used, expired or not this browser's.
    #[error("{0}")]
    State(String),
    /// What the provider sent does not check out (signature, issuer, audience, expiry, nonce).
    #[error("{0}")]
    Token(String),
    /// The provider vouched for someone this organization does not admit.
    #[error("{0}")]
    Identity(String),
    /// The provider could not be reached or refused.
    #[error("{0}")]
    Provider(String),
    /// The connection's settings cannot work.
    #[error("{0}")]
    Settings(String),
}

impl SsoError {
    /// The stable problem type of this failure.
    pub fn kind(&self) -> ProblemKind {
        match self {
            Self::State(_) => ProblemKind::SsoStateInvalid,
            Self::Token(_) => ProblemKind::SsoTokenInvalid,
            Self::Identity(_) => ProblemKind::SsoIdentityRefused,
            Self::Provider(_) => ProblemKind::SsoProviderError,
            Self::Settings(_) => ProblemKind::InvalidSsoSettings,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::State(_) => StatusCode::BAD_REQUEST,
            Self::Token(_) => StatusCode::UNAUTHORIZED,
            Self::Identity(_) => StatusCode::FORBIDDEN,
            Self::Provider(_) => StatusCode::BAD_GATEWAY,
            Self::Settings(_) => StatusCode::CONFLICT,
        }
    }
}

impl From<SsoError> for ApiError {
    fn from(error: SsoError) -> Self {
        ApiError::new(error.status(), error.kind(), error.to_string())
    }
}

/// 403 `sso_required`: this organization admits its members through its single sign-on only.
pub fn sso_required() -> ApiError {
    ApiError::forbidden_kind(
        ProblemKind::SsoRequired,
        "this organization requires single sign-on: use \"Continue with SSO\" on the sign-in page",
    )
}

/// Who was admitted, and what the sign-in created.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The user.
    pub user_id: UserId,
    /// Their role in the organization now.
    pub role: Role,
    /// The membership was created by this sign-in.
    pub provisioned: bool,
}

/// Admits `identity` into `org` through its `kind` connection (on a connection scoped to
/// `org`, acting as the sign-in): checks the e-mail against the organization's verified
/// domains, finds the user by the provider's subject or their e-mail (linking a password
/// account of that domain), or creates them with the address verified; creates the
/// membership with the mapped or `default_role`, or moves a non-owner to the role their groups
/// map to; records it all.
pub async fn admit(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    kind: Kind,
    default_role: Role,
    identity: &Identity,
    now: DateTime<Utc>,
) -> Result<Admitted, ApiError> {
    let email = identity
        .email
        .as_deref()
        .and_then(|email| crate::routes::auth::normalize_email(email).ok())
        .ok_or_else(|| {
            SsoError::Identity(
                "the identity provider sent no valid e-mail address (check the e-mail claim or \
                 attribute name of the connection)"
                    .into(),
            )
        })?;
    if identity.email_verified == Some(false) {
        return Err(SsoError::Identity(
            "the identity provider says this e-mail address is not verified".into(),
        )
        .into());
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let verified = org_domains::find(conn, org, domain)
        .await?
        .is_some_and(|claim| claim.verified_at.is_some());
    if !verified {
        return Err(SsoError::Identity(format!(
            "{domain} is not a verified domain of this organization"
        ))
        .into());
    }
    let user_id = match sso::identity(conn, org, kind, &identity.subject).await? {
        Some(user) => user,
        None => match users::find_by_email(conn, &email).await? {
            Some(user) => user.id,
            None => users::create(conn, &email, tenant::secrets::UNUSABLE_PASSWORD)
                .await?
                .map(|user| user.id)
                .ok_or_else(|| ApiError::internal("the new user's e-mail was taken meanwhile"))?,
        },
    };
    users::mark_verified(conn, user_id).await?;
    let user = UserId::from_uuid(user_id);
    sso::link_identity(conn, org, kind, &identity.subject, user, now).await?;
    let mapped = sso::role_for_groups(conn, org, &identity.groups).await?;
    let current = memberships::lock_role(conn, org, user).await?;
    let (role, provisioned) = match current {
        None => {
            let role = mapped.unwrap_or(default_role);
            memberships::upsert(conn, org, user, role).await?;
            audit::record(
                conn,
                org,
                Entry::new(Action::MemberProvisioned, user).with(Changes::created(
                    serde_json::json!({ "role": role.as_str(), "via": kind.as_str() }),
                )),
            )
            .await?;
            (role, true)
        }
        Some(role) => match mapped {
            Some(to) if role != Role::Owner && to != role => {
                memberships::set_role(conn, org, user, to).await?;
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::MemberRoleChanged, user).with(Changes::default().set(
                        "role",
                        role.as_str().into(),
                        to.as_str().into(),
                    )),
                )
                .await?;
                (to, false)
            }
            _ => (role, false),
        },
    };
    audit::record(
        conn,
        org,
        Entry::new(Action::UserSsoSignedIn, user).with(Changes::default().set(
            "via",
            Value::Null,
            kind.as_str().into(),
        )),
    )
    .await?;
    Ok(Admitted {
        user_id: user,
        role,
        provisioned,
    })
}

/// Refuses a password sign-in of `user` (whose address is `email`) when the organization that
/// verified the address's domain requires SSO and `user` is a member there but not an owner:
/// owners keep the password as their way back in when the identity provider fails.
pub async fn refuse_password(db: &tenant::Db, user: UserId, email: &str) -> Result<(), ApiError> {
    let Some((_, domain)) = email.rsplit_once('@') else {
        return Ok(());
    };
    let domain = domain.to_owned();
    let Some(realm) = db
        .unscoped(async |conn| Ok::<_, tenant::DbError>(sso::realm(conn, &domain).await?))
        .await?
    else {
        return Ok(());
    };
    if !realm.enforced || realm.kinds.is_empty() {
        return Ok(());
    }
    let org = OrgId::from_uuid(realm.org_id);
    let role = db
        .scoped(org, async |conn| {
            Ok::<_, tenant::DbError>(memberships::role_of(conn, org, user).await?)
        })
        .await?;
    match role {
        Some(role) if role < Role::Owner => Err(sso_required()),
        _ => Ok(()),
    }
}
