//! The fake Stripe (`api/tests/fakes/stripe.py`, Python's standard library only) run for a
//! test, and a test app whose billing points at it: production code, another base URL.

use std::process::Child;
use std::sync::Arc;

use serde_json::Value;

use crate::support::TestApp;

/// The fake's secret key (Beacon must send it as `Authorization: Bearer`).
pub const KEY: &str = "sk_test_beacon_fake";
/// The webhook signing secret the fake signs with.
pub const SECRET: &str = "whsec_beacon_fake";

/// A running fake Stripe, stopped on drop.
pub struct FakeStripe {
    child: Child,
    pub port: u16,
    http: reqwest::Client,
}

impl FakeStripe {
    pub fn start() -> Self {
        let (child, ports) = crate::support::start_fake(
            "stripe.py",
            &["--secret-key", KEY, "--webhook-secret", SECRET].map(std::ffi::OsStr::new),
        );
        let port = ports[0];
        Self {
            child,
            port,
            http: reqwest::Client::new(),
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where the fake posts its events: the app served on `port`.
    pub async fn deliver_to(&self, port: u16) {
        self.post(
            "/_fake/config",
            serde_json::json!({"webhook_url": format!("http://127.0.0.1:{port}/api/billing/stripe/webhook")}),
        )
        .await;
    }

    /// Everything the fake stored and received.
    pub async fn state(&self) -> Value {
        self.http
            .get(format!("{}/_fake/state", self.base()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|bytes| serde_json::from_slice(&bytes).unwrap())
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base()))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    /// Pays the Checkout Session behind `url` as a buyer would (the fake then posts
    /// `checkout.session.completed`); answers where the browser is sent.
    pub async fn pay(&self, url: &str) -> String {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.post(format!("{url}/pay")).send().await.unwrap();
        assert_eq!(response.status(), 303, "paying {url}");
        response.headers()["location"].to_str().unwrap().to_string()
    }

    /// The billing settings pointing at this fake, with `secrets` as webhook secrets.
    pub fn config(&self, secrets: &[&str]) -> billing::BillingConfig {
        billing::BillingConfig {
            secret_key: Some(KEY.into()),
            webhook_secrets: secrets.iter().map(|s| s.to_string()).collect(),
            api_base: Some(self.base()),
        }
    }

    /// A test app whose billing talks to this fake.
    pub async fn app(&self) -> TestApp {
        let config = self.config(&[SECRET]);
        TestApp::new().await.reconfigured(move |state| {
            state.billing = Arc::new(billing::Billing::new(&config).unwrap());
            state.public_url = Some("http://beacon.test".into());
        })
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
