//! Beacon's calls to Stripe, through async-stripe: its request types write Stripe's form
//! encoding and its client sends them (authentication, idempotency keys, API version).
//!
//! Answers are read loosely: only the fields Beacon uses are parsed (missing optional fields
//! are none), so a field Stripe adds or moves in a newer API version does not break billing.
//! The base URL is configurable (`BEACON_STRIPE_API_BASE`): tests point it at a fake Stripe,
//! and nothing else differs.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use tenant::OrgId;

/// Stripe's API, unless configured otherwise.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com/";

/// How long one call to Stripe may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A failed call to Stripe (answered 502 to Beacon's own callers).
#[derive(Debug, thiserror::Error)]
#[error("Stripe: {0}")]
pub struct StripeFailure(pub String);

impl From<StripeError> for StripeFailure {
    fn from(error: StripeError) -> Self {
        Self(match error {
            StripeError::Stripe(errors, status) => format!(
                "{status} {}",
                errors.message.as_deref().unwrap_or("(no message)")
            ),
            other => other.to_string(),
        })
    }
}

/// A subscription, as far as Beacon reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Subscription {
    /// `sub_…`.
    pub id: String,
    /// The customer id (not expanded).
    pub customer: String,
    /// Stripe's status (`trialing`, `active`, `past_due`, `canceled`, …).
    pub status: String,
    /// Metadata; Beacon sets `org_id` at checkout.
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// Start of the current period (before API version 2025-03-31 on the subscription).
    pub current_period_start: Option<i64>,
    /// End of the current period.
    pub current_period_end: Option<i64>,
    /// End of the trial.
    pub trial_end: Option<i64>,
    /// Cancels at the end of the period.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// The subscribed prices.
    pub items: List<SubscriptionItem>,
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct List<T> {
    /// The items.
    pub data: Vec<T>,
}

/// One price of a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubscriptionItem {
    /// The price.
    pub price: Price,
    /// Start of the current period (on items since API version 2025-03-31).
    pub current_period_start: Option<i64>,
    /// End of the current period.
    pub current_period_end: Option<i64>,
}

/// A price.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Price {
    /// `price_…`.
    pub id: String,
    /// The lookup key the plan table names it by.
    pub lookup_key: Option<String>,
}

impl Subscription {
    /// The lookup key of its first price that has one.
    pub fn lookup_key(&self) -> Option<&str> {
        self.items
            .data
            .iter()
            .find_map(|item| item.price.lookup_key.as_deref())
    }

    /// Its current period, from the subscription or (newer API versions) its first item.
    pub fn period(&self) -> (Option<i64>, Option<i64>) {
        let item = self.items.data.first();
        (
            self.current_period_start
                .or_else(|| item.and_then(|item| item.current_period_start)),
            self.current_period_end
                .or_else(|| item.and_then(|item| item.current_period_end)),
        )
    }
}

/// An invoice, for the Billing page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Invoice {
    /// `in_…`.
    pub id: String,
    /// Invoice number.
    pub number: Option<String>,
    /// `draft`, `open`, `paid`, `uncollectible`, `void`.
    pub status: Option<String>,
    /// Amount due, in the currency's smallest unit.
    #[serde(default)]
    pub amount_due: i64,
    /// Amount paid.
    #[serde(default)]
    pub amount_paid: i64,
    /// Three-letter currency code.
    pub currency: String,
    /// Creation time (Unix seconds).
    pub created: i64,
    /// Stripe's page for the invoice.
    pub hosted_invoice_url: Option<String>,
    /// The PDF.
    pub invoice_pdf: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    id: String,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Customer {
    #[serde(default)]
    metadata: HashMap<String, String>,
}

/// What a Checkout Session is created with.
#[derive(Debug, Clone)]
pub struct CheckoutRequest<'a> {
    /// The organization's customer.
    pub customer: &'a str,
    /// The price (`price_…`).
    pub price: &'a str,
    /// Trial days (first paid plan only).
    pub trial_days: Option<u32>,
    /// The organization (put in the subscription's metadata and as the client reference).
    pub org: OrgId,
    /// Where Stripe sends the browser after paying.
    pub success_url: &'a str,
    /// Where Stripe sends the browser when the buyer goes back.
    pub cancel_url: &'a str,
}

/// A meter event: usage of one product by one customer on one day.
#[derive(Debug, Clone)]
pub struct MeterEvent<'a> {
    /// The meter's event name (`beacon_events`).
    pub event_name: &'a str,
    /// The customer.
    pub customer: &'a str,
    /// How much.
    pub value: i64,
    /// Stripe drops a second event with the same identifier: organization, product and day.
    pub identifier: &'a str,
    /// When (Unix seconds; the day's start).
    pub timestamp: i64,
}

/// The Stripe client.
#[derive(Clone)]
pub struct Stripe {
    client: Client,
}

impl Stripe {
    /// A client with `secret_key` against `api_base` (Stripe's own by default).
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<Self, StripeFailure> {
        let mut base = api_base.unwrap_or(DEFAULT_API_BASE).to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        let client = ClientBuilder::new(secret_key)
            .url(base)
            .timeout(TIMEOUT)
            .build()?;
        Ok(Self { client })
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: impl StripeRequest,
        idempotency_key: Option<String>,
    ) -> Result<T, StripeFailure> {
        let mut customized = request.build().customize::<miniserde::json::Value>();
        if let Some(key) = idempotency_key {
            let key = IdempotencyKey::new(key).map_err(|e| StripeFailure(e.to_string()))?;
            customized = customized.request_strategy(RequestStrategy::Idempotent(key));
        }
        let value = customized.send(&self.client).await?;
        serde_json::from_str(&miniserde::json::to_string(&value))
            .map_err(|error| StripeFailure(format!("unexpected answer: {error}")))
    }

    /// Creates the organization's customer. The idempotency key makes a retry (or a concurrent
    /// request) within Stripe's 24 hours answer the same customer.
    pub async fn create_customer(
        &self,
        org: OrgId,
        name: &str,
        email: &str,
    ) -> Result<String, StripeFailure> {
        let metadata = HashMap::from([("org_id".to_string(), org.to_string())]);
        let request = stripe_core::customer::CreateCustomer::new()
            .name(name)
            .email(email)
            .metadata(metadata);
        let created: Created = self
            .call(request, Some(format!("beacon-customer-{org}")))
            .await?;
        Ok(created.id)
    }

    /// The organization a customer belongs to (its `org_id` metadata).
    pub async fn customer_org(&self, customer: &str) -> Result<Option<String>, StripeFailure> {
        let request = stripe_core::customer::RetrieveCustomer::new(customer);
        let customer: Customer = self.call(request, None).await?;
        Ok(customer.metadata.get("org_id").cloned())
    }

    /// The active price with `lookup_key`.
    pub async fn price_id(&self, lookup_key: &str) -> Result<String, StripeFailure> {
        let request = stripe_product::price::ListPrice::new()
            .lookup_keys(vec![lookup_key.to_string()])
            .active(true)
            .limit(1);
        let prices: List<Price> = self.call(request, None).await?;
        prices
            .data
            .into_iter()
            .next()
            .map(|price| price.id)
            .ok_or_else(|| StripeFailure(format!("no active price has lookup key {lookup_key}")))
    }

    /// A Checkout Session in subscription mode; answers its URL.
    pub async fn create_checkout(
        &self,
        checkout: CheckoutRequest<'_>,
    ) -> Result<String, StripeFailure> {
        use stripe_checkout::checkout_session::{
            CreateCheckoutSession, CreateCheckoutSessionLineItems,
            CreateCheckoutSessionPaymentMethodCollection, CreateCheckoutSessionSubscriptionData,
        };
        let metadata = HashMap::from([("org_id".to_string(), checkout.org.to_string())]);
        let mut line = CreateCheckoutSessionLineItems::new();
        line.price = Some(checkout.price.to_string());
        line.quantity = Some(1);
        let mut subscription = CreateCheckoutSessionSubscriptionData::new();
        subscription.metadata = Some(metadata.clone());
        subscription.trial_period_days = checkout.trial_days;
        let mut request = CreateCheckoutSession::new()
            .mode(stripe_shared::CheckoutSessionMode::Subscription)
            .customer(checkout.customer)
            .client_reference_id(checkout.org.to_string())
            .line_items(vec![line])
            .subscription_data(subscription)
            .metadata(metadata)
            .success_url(checkout.success_url)
            .cancel_url(checkout.cancel_url);
        if checkout.trial_days.is_some() {
            // A trial without a card: Stripe asks for one only when it is needed.
            request = request.payment_method_collection(
                CreateCheckoutSessionPaymentMethodCollection::IfRequired,
            );
        }
        let created: Created = self.call(request, None).await?;
        created
            .url
            .ok_or_else(|| StripeFailure(format!("checkout session {} has no URL", created.id)))
    }

    /// A Customer Portal session; answers its URL.
    pub async fn create_portal(
        &self,
        customer: &str,
        return_url: &str,
    ) -> Result<String, StripeFailure> {
        let request = stripe_billing::billing_portal_session::CreateBillingPortalSession::new()
            .customer(customer)
            .return_url(return_url);
        let created: Created = self.call(request, None).await?;
        created
            .url
            .ok_or_else(|| StripeFailure(format!("portal session {} has no URL", created.id)))
    }

    /// The subscription as Stripe has it now.
    pub async fn subscription(&self, id: &str) -> Result<Subscription, StripeFailure> {
        let request = stripe_billing::subscription::RetrieveSubscription::new(id);
        self.call(request, None).await
    }

    /// The customer's latest invoices, newest first.
    pub async fn invoices(
        &self,
        customer: &str,
        limit: i64,
    ) -> Result<Vec<Invoice>, StripeFailure> {
        let request = stripe_billing::invoice::ListInvoice::new()
            .customer(customer)
            .limit(limit);
        let list: List<Invoice> = self.call(request, None).await?;
        Ok(list.data)
    }

    /// Reports usage. Stripe ignores a second event with the same identifier.
    pub async fn meter_event(&self, event: MeterEvent<'_>) -> Result<(), StripeFailure> {
        let payload = HashMap::from([
            ("stripe_customer_id".to_string(), event.customer.to_string()),
            ("value".to_string(), event.value.to_string()),
        ]);
        let request = stripe_billing::billing_meter_event::CreateBillingMeterEvent::new(
            event.event_name,
            payload,
        )
        .identifier(event.identifier)
        .timestamp(event.timestamp);
        let _: serde_json::Value = self
            .call(request, Some(format!("beacon-meter-{}", event.identifier)))
            .await?;
        Ok(())
    }
}
