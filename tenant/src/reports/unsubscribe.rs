//! The unsubscribe link of a report e-mail: a token that names one subscription and works
//! without signing in, so anyone who receives a report can stop it in one click (and mail
//! clients can, through `List-Unsubscribe` and RFC 8058's one-click POST).
//!
//! The token is the subscription's organization and id sealed with the installation's sealing
//! key (AES-256-GCM, [`crate::sealed`]): authenticated, so it cannot be forged or altered, and
//! opaque. It names only that subscription; the address is not in it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::OrgId;
use crate::sealed::SealingKey;

/// What the sealing binds the token to (a token sealed for anything else does not open).
const CONTEXT: &str = "beacon report unsubscribe v1";

/// The token for `subscription` of `org`.
pub fn token(key: &SealingKey, org: OrgId, subscription: Uuid) -> String {
    let mut ids = org.uuid().as_bytes().to_vec();
    ids.extend_from_slice(subscription.as_bytes());
    URL_SAFE_NO_PAD.encode(key.seal(&ids, CONTEXT))
}

/// The organization and subscription a token names; `None` when it was not made by
/// [`token`] with this key.
pub fn open(key: &SealingKey, token: &str) -> Option<(OrgId, Uuid)> {
    if token.len() > 200 {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD.decode(token).ok()?;
    let ids = key.open(&sealed, CONTEXT).ok()?;
    let (org, subscription) = ids.split_at_checked(16)?;
    let org = Uuid::from_slice(org).ok()?;
    let subscription = Uuid::from_slice(subscription).ok()?;
    Some((OrgId::from_uuid(org), subscription))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_to_its_subscription_and_nothing_else_opens() {
        let (key, _) = SealingKey::generate();
        let org = OrgId::from_uuid(Uuid::now_v7());
        let subscription = Uuid::now_v7();
        let made = token(&key, org, subscription);
        assert_eq!(open(&key, &made), Some((org, subscription)));
        let (other_key, _) = SealingKey::generate();
        assert_eq!(open(&other_key, &made), None);
        let mut altered = made.into_bytes();
        altered[20] = if altered[20] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(&key, &String::from_utf8(altered).unwrap()), None);
        assert_eq!(open(&key, "not-a-token"), None);
        let other_context = URL_SAFE_NO_PAD.encode(key.seal(&[0; 32], "something else"));
        assert_eq!(open(&key, &other_context), None);
    }
}
