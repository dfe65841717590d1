//! Stripe webhooks: the signature check, exactly as Stripe specifies it, and what an event
//! means for an organization's subscription.
//!
//! Events are never trusted for state: Stripe delivers them late, twice and out of order. An
//! event only says "this subscription changed"; the subscription is read again from Stripe and
//! its state now is what gets stored, so a stale `customer.subscription.created` arriving after
//! the deletion cannot bring a canceled subscription back.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// How far a signature's timestamp may be from now (Stripe's default tolerance).
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a webhook was refused before anything was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or one without `t=` and `v1=`.
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    /// No `v1` signature matches any configured secret.
    #[error("the signature does not match")]
    Mismatch,
    /// The signature is older (or newer) than the tolerance.
    #[error("the signature's timestamp is more than {TOLERANCE_SECONDS} s from now")]
    Stale,
}

/// Checks `header` (`Stripe-Signature: t=…,v1=…[,v1=…]`) over the raw `payload`: the HMAC-SHA256
/// of `"{t}.{payload}"` with any of `secrets` (two during a rotation) must equal any `v1`
/// entry, compared in constant time, and `t` must be within [`TOLERANCE_SECONDS`] of `now`.
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secrets: &[String],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let matches = secrets.iter().any(|secret| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        signatures
            .iter()
            .any(|signature| mac.clone().verify_slice(signature).is_ok())
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if (now.timestamp() - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// A verified event, as far as Beacon reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `evt_…`.
    pub id: String,
    /// `customer.subscription.updated`, …
    pub kind: String,
    /// `data.object`.
    pub object: Value,
}

/// What an event asks Beacon to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read this subscription again and store its state; `org` is the organization named by
    /// the event itself (a Checkout Session's client reference), if any.
    Sync {
        /// The subscription.
        subscription: String,
        /// The organization the event names.
        org: Option<String>,
        /// The customer the event names.
        customer: Option<String>,
    },
    /// An event Beacon does not act on (answered 200 and counted).
    Ignore,
}

impl Event {
    /// Parses the payload (after [`verify`]).
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let value: Value =
            serde_json::from_slice(payload).map_err(|error| format!("not JSON: {error}"))?;
        let text = |field: &str| value.get(field).and_then(Value::as_str).map(str::to_string);
        Ok(Self {
            id: text("id").ok_or("no event id")?,
            kind: text("type").ok_or("no event type")?,
            object: value
                .pointer("/data/object")
                .cloned()
                .ok_or("no data.object")?,
        })
    }

    /// What to do about it.
    pub fn action(&self) -> Action {
        let text = |pointer: &str| {
            self.object
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let subscription = match self.kind.as_str() {
            "checkout.session.completed" => text("/subscription"),
            "invoice.paid" | "invoice.payment_failed" => {
                text("/subscription").or_else(|| text("/parent/subscription_details/subscription"))
            }
            kind if kind.starts_with("customer.subscription.") => text("/id"),
            _ => None,
        };
        match subscription {
            Some(subscription) => Action::Sync {
                subscription,
                org: text("/client_reference_id").or_else(|| text("/metadata/org_id")),
                customer: text("/customer"),
            },
            None => Action::Ignore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(payload: &str, secret: &str, t: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{payload}").as_bytes());
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_signature_verifies_with_any_configured_secret_and_only_within_the_tolerance() {
        let now = Utc::now();
        let body = r#"{"id":"evt_1"}"#;
        let secrets = vec!["whsec_old".to_string(), "whsec_new".to_string()];
        let header = sign(body, "whsec_new", now.timestamp());
        assert_eq!(
            verify(body.as_bytes(), Some(&header), &secrets, now),
            Ok(())
        );
        assert_eq!(
            verify(b"{\"id\":\"evt_2\"}", Some(&header), &secrets, now),
            Err(SignatureError::Mismatch)
        );
        let other = sign(body, "whsec_other", now.timestamp());
        assert_eq!(
            verify(body.as_bytes(), Some(&other), &secrets, now),
            Err(SignatureError::Mismatch)
        );
        let stale = sign(body, "whsec_old", now.timestamp() - 301);
        assert_eq!(
            verify(body.as_bytes(), Some(&stale), &secrets, now),
            Err(SignatureError::Stale)
        );
        let edge = sign(body, "whsec_old", now.timestamp() - 300);
        assert_eq!(verify(body.as_bytes(), Some(&edge), &secrets, now), Ok(()));
        // Several v1 entries (Stripe sends one per active secret): any may match.
        let both = format!(
            "{},v1=00ff,v0=abc",
            sign(body, "whsec_old", now.timestamp())
        );
        assert_eq!(verify(body.as_bytes(), Some(&both), &secrets, now), Ok(()));
        for bad in ["", "t=1", "v1=00", "t=x,v1=00"] {
            assert_eq!(
                verify(body.as_bytes(), Some(bad), &secrets, now),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify(body.as_bytes(), None, &secrets, now),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn events_name_the_subscription_to_read_again() {
        let event = |kind: &str, object: Value| Event {
            id: "evt_1".into(),
            kind: kind.into(),
            object,
        };
        assert_eq!(
            event(
                "checkout.session.completed",
                serde_json::json!({"subscription": "sub_1", "client_reference_id": "org", "customer": "cus_1"})
            )
            .action(),
            Action::Sync {
                subscription: "sub_1".into(),
                org: Some("org".into()),
                customer: Some("cus_1".into())
            }
        );
        let invoice = event(
            "invoice.payment_failed",
            serde_json::json!({"parent": {"subscription_details": {"subscription": "sub_2"}}}),
        );
        assert!(
            matches!(invoice.action(), Action::Sync { subscription, .. } if subscription == "sub_2")
        );
        assert_eq!(
            event("customer.created", serde_json::json!({"id": "cus_1"})).action(),
            Action::Ignore
        );
        assert!(matches!(
            event("customer.subscription.paused", serde_json::json!({"id": "sub_3"})).action(),
            Action::Sync { subscription, .. } if subscription == "sub_3"
        ));
    }
}
