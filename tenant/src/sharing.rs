//! Shared links: what a link's token is, when a link lets a visitor in, and the grant a
//! visitor gets for a link's password.
//!
//! A token is `<organization>.<link>.<secret>`: the organization first, so resolving it opens
//! that organization's scope and no lookup crosses tenants (as API keys and invitations do);
//! the secret is 256 random bits stored as SHA-256. A link lets a visitor in while it is not
//! paused and not expired, checked on every request, so pausing or revoking takes effect at
//! once. A password-protected link also needs a grant: the organization, link, a fingerprint
//! of the password hash and an expiry, sealed with the installation's key ([`SealingKey`]), so
//! a grant cannot be forged, is worthless for another link, and stops working when the
//! password changes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::OrgId;
use crate::sealed::SealingKey;
use crate::tables::shared_links::SharedLink;

/// How long a password grant lasts.
pub const GRANT_HOURS: i64 = 12;

/// What the sealing binds a grant to.
const GRANT_CONTEXT: &str = "beacon shared link grant v1";

/// A link's token, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The organization.
    pub org: OrgId,
    /// The link.
    pub link_id: Uuid,
    /// The secret.
    pub secret: String,
}

impl Token {
    /// Reads `<organization>.<link>.<secret>`; `None` for anything else.
    pub fn parse(token: &str) -> Option<Self> {
        if token.len() > 200 {
            return None;
        }
        let mut parts = token.split('.');
        let org = Uuid::try_parse(parts.next()?).ok()?;
        let link_id = Uuid::try_parse(parts.next()?).ok()?;
        let secret = parts.next()?;
        let valid = secret.len() == 43
            && secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        (valid && parts.next().is_none()).then(|| Self {
            org: OrgId::from_uuid(org),
            link_id,
            secret: secret.to_owned(),
        })
    }

    /// The token as a link carries it.
    pub fn text(&self) -> String {
        format!("{}.{}.{}", self.org, self.link_id, self.secret)
    }
}

/// SHA-256 (hex) of a secret, as stored.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a link does not let a visitor in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// No such link, or the secret does not match (the same answer: nothing to probe).
    Unknown,
    /// Paused by an owner or admin.
    Paused,
    /// Past its expiry.
    Expired,
    /// It has a password and the visitor has no valid grant for it.
    PasswordRequired,
}

/// Whether `link` (found by the token's ids) lets in a visitor holding `token` and maybe a
/// `grant`, at `now`.
pub fn admit(
    key: &SealingKey,
    link: Option<&SharedLink>,
    token: &Token,
    grant: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Closed> {
    let link = link.ok_or(Closed::Unknown)?;
    let expected = secret_hash(&token.secret);
    if !constant_time_eq(expected.as_bytes(), link.secret_hash.as_bytes()) {
        return Err(Closed::Unknown);
    }
    if link.paused {
        return Err(Closed::Paused);
    }
    if link.expires_at.is_some_and(|at| at <= now) {
        return Err(Closed::Expired);
    }
    match &link.password_hash {
        None => Ok(()),
        Some(hash) if grant.is_some_and(|grant| grant_opens(key, grant, link, hash, now)) => Ok(()),
        Some(_) => Err(Closed::PasswordRequired),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The first 16 bytes of the SHA-256 of a password hash: changes when the password does.
fn fingerprint(password_hash: &str) -> [u8; 16] {
    let digest = Sha256::digest(password_hash.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// A grant for `link`'s current password, good for [`GRANT_HOURS`] from `now`.
pub fn grant(
    key: &SealingKey,
    link: &SharedLink,
    password_hash: &str,
    now: DateTime<Utc>,
) -> String {
    let mut plain = Vec::with_capacity(56);
    plain.extend_from_slice(link.org_id.as_bytes());
    plain.extend_from_slice(link.link_id.as_bytes());
    plain.extend_from_slice(&fingerprint(password_hash));
    plain.extend_from_slice(
        &(now + Duration::hours(GRANT_HOURS))
            .timestamp()
            .to_be_bytes(),
    );
    URL_SAFE_NO_PAD.encode(key.seal(&plain, GRANT_CONTEXT))
}

fn grant_opens(
    key: &SealingKey,
    grant: &str,
    link: &SharedLink,
    password_hash: &str,
    now: DateTime<Utc>,
) -> bool {
    if grant.len() > 300 {
        return false;
    }
    let Some(plain) = URL_SAFE_NO_PAD
        .decode(grant)
        .ok()
        .and_then(|sealed| key.open(&sealed, GRANT_CONTEXT).ok())
    else {
        return false;
    };
    if plain.len() != 56 {
        return false;
    }
    let (ids, rest) = plain.split_at(32);
    let (print, until) = rest.split_at(16);
    let until = until.try_into().map(i64::from_be_bytes).unwrap_or(i64::MIN);
    ids[..16] == *link.org_id.as_bytes()
        && ids[16..] == *link.link_id.as_bytes()
        && print == fingerprint(password_hash)
        && until > now.timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(password: Option<&str>) -> (SharedLink, Token) {
        let token = Token {
            org: OrgId::generate(),
            link_id: Uuid::now_v7(),
            secret: crate::secrets::new_token(),
        };
        let now = Utc::now();
        let link = SharedLink {
            org_id: token.org.uuid(),
            link_id: token.link_id,
            project_id: Uuid::now_v7(),
            dashboard_id: None,
            name: "Board".into(),
            secret_hash: secret_hash(&token.secret),
            password_hash: password.map(str::to_owned),
            segment_id: None,
            expires_at: None,
            paused: false,
            embed_origins: vec![],
            created_by: None,
            created_at: now,
            updated_at: now,
        };
        (link, token)
    }

    #[test]
    fn tokens_read_back_and_nothing_else_reads() {
        let (_, token) = link(None);
        assert_eq!(Token::parse(&token.text()), Some(token.clone()));
        assert_eq!(Token::parse("not.a.token"), None);
        assert_eq!(Token::parse(&format!("{}.extra", token.text())), None);
    }

    #[test]
    fn a_link_admits_while_open_and_its_secret_matches() {
        let (key, _) = SealingKey::generate();
        let now = Utc::now();
        let (mut open, token) = link(None);
        assert_eq!(admit(&key, Some(&open), &token, None, now), Ok(()));
        let wrong = Token {
            secret: crate::secrets::new_token(),
            ..token.clone()
        };
        assert_eq!(
            admit(&key, Some(&open), &wrong, None, now),
            Err(Closed::Unknown)
        );
        assert_eq!(admit(&key, None, &token, None, now), Err(Closed::Unknown));
        open.paused = true;
        assert_eq!(
            admit(&key, Some(&open), &token, None, now),
            Err(Closed::Paused)
        );
        open.paused = false;
        open.expires_at = Some(now);
        assert_eq!(
            admit(&key, Some(&open), &token, None, now),
            Err(Closed::Expired)
        );
    }

    #[test]
    fn a_grant_opens_its_link_until_it_expires_or_the_password_changes() {
        let (key, _) = SealingKey::generate();
        let now = Utc::now();
        let (mut locked, token) = link(Some("$argon2id$first"));
        assert_eq!(
            admit(&key, Some(&locked), &token, None, now),
            Err(Closed::PasswordRequired)
        );
        let granted = grant(&key, &locked, "$argon2id$first", now);
        assert_eq!(
            admit(&key, Some(&locked), &token, Some(&granted), now),
            Ok(())
        );
        let later = now + Duration::hours(GRANT_HOURS) + Duration::seconds(1);
        assert_eq!(
            admit(&key, Some(&locked), &token, Some(&granted), later),
            Err(Closed::PasswordRequired)
        );
        let (other, other_token) = link(Some("$argon2id$first"));
        assert_eq!(
            admit(&key, Some(&other), &other_token, Some(&granted), now),
            Err(Closed::PasswordRequired),
            "a grant is for its own link"
        );
        locked.password_hash = Some("$argon2id$second".into());
        assert_eq!(
            admit(&key, Some(&locked), &token, Some(&granted), now),
            Err(Closed::PasswordRequired)
        );
        assert_eq!(
            admit(&key, Some(&locked), &token, Some("forged"), now),
            Err(Closed::PasswordRequired)
        );
    }
}
