//! Billing: the organization's plan, usage and limits; Stripe Checkout and the Customer Portal
//! for owners; invoices; and Stripe's webhook. HTTP only: the rules are in the `billing` crate.

use chrono::{DateTime, NaiveDate, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiRequest, Enum, Object, OpenApi};
use tenant::audit::{self, Action as AuditAction, Changes, Entry};
use tenant::problem::ProblemKind;
use tenant::tables::billing as rows;
use tenant::tables::organizations;
use tenant::{Actor, DbError, OrgId};
use uuid::Uuid;

use billing::entitlements::DUNNING_GRACE;
use billing::metering::{self, ProductUsage};
use billing::plans::{self, Grants, Plan};
use billing::stripe::CheckoutRequest;
use billing::sync::{self, Applied};
use billing::webhook::{self, Action, Event};
use billing::{Entitlements, Interval, Limit, PlanId};
use worker::jobs::SendBillingNotice;

use crate::error::{ApiError, ApiResult};
use crate::metrics::WebhookOutcome;
use crate::routes::ApiTags;
use crate::scope::{OrgScope, Owner, Viewer};
use crate::state::AppState;

/// Where Stripe posts events (configure this URL in Stripe's dashboard).
pub const WEBHOOK_PATH: &str = "/api/billing/stripe/webhook";

/// Largest webhook body accepted.
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

/// Trial length of the first paid plan, without a card.
pub const TRIAL_DAYS: u32 = 14;

/// What a plan grants (absent numbers: unlimited).
#[derive(Debug, Object)]
pub struct GrantsOut {
    /// Pageviews and custom events per month.
    pub events_per_month: Option<i64>,
    /// Error events per month.
    pub errors_per_month: Option<i64>,
    /// Session replays per month.
    pub replays_per_month: Option<i64>,
    /// Projects.
    pub projects: Option<i64>,
    /// Seats (members plus pending invitations).
    pub seats: Option<i64>,
    /// Longest data retention, in days.
    pub retention_days: Option<i32>,
    /// How long audit records are kept, in days.
    pub audit_retention_days: i32,
    /// Features included (`sso`, `scim`, `audit_log`, `custom_dashboards`, `shared_links`,
    /// `alerts`, `ai_summaries`, `reports`, `task_board`).
    pub features: Vec<String>,
}

impl From<&Grants> for GrantsOut {
    fn from(grants: &Grants) -> Self {
        Self {
            events_per_month: grants.events_per_month,
            errors_per_month: grants.errors_per_month,
            replays_per_month: grants.replays_per_month,
            projects: grants.projects,
            seats: grants.seats,
            retention_days: grants.retention_days,
            audit_retention_days: grants.audit_retention_days,
            features: grants
                .features
                .iter()
                .map(|feature| feature.as_str().to_string())
                .collect(),
        }
    }
}

/// A plan on sale.
#[derive(Debug, Object)]
pub struct PlanOut {
    /// `free`, `team`, `business`, `enterprise`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// US cents per month, billed monthly.
    pub month_cents: Option<i64>,
    /// US cents per year, billed yearly.
    pub year_cents: Option<i64>,
    /// What it grants.
    pub grants: GrantsOut,
}

impl From<&Plan> for PlanOut {
    fn from(plan: &Plan) -> Self {
        Self {
            id: plan.id.as_str().to_string(),
            name: plan.name.to_string(),
            month_cents: plan.month_cents,
            year_cents: plan.year_cents,
            grants: GrantsOut::from(&plan.grants),
        }
    }
}

/// One product's usage this period.
#[derive(Debug, Object)]
pub struct UsageOut {
    /// `events` (pageviews and custom events), `errors`, `replays`.
    pub product: String,
    /// Stored this period.
    pub used: i64,
    /// Monthly quota (absent: unlimited).
    pub quota: Option<i64>,
    /// Refused this period because the quota was used up (not stored).
    pub dropped: i64,
    /// Over quota since; new events are stored for a grace period of 7 days from here.
    pub over_since: Option<DateTime<Utc>>,
    /// New events of this product are dropped now.
    pub blocked: bool,
    /// Usage at the end of the period at this period's daily rate so far.
    pub projected: i64,
}

impl From<ProductUsage> for UsageOut {
    fn from(usage: ProductUsage) -> Self {
        Self {
            product: usage.product.as_str().to_string(),
            used: usage.used,
            quota: usage.quota,
            dropped: usage.dropped,
            over_since: usage.over_since,
            blocked: usage.blocked,
            projected: usage.projected,
        }
    }
}

/// Something in use beyond what the plan allows (after a downgrade): nothing is deleted, the
/// excess is read-only (projects) or cannot grow (seats) until resolved.
#[derive(Debug, Object)]
pub struct OverLimitOut {
    /// `projects` or `seats`.
    pub what: String,
    /// The plan's limit.
    pub limit: i64,
    /// In use.
    pub used: i64,
}

/// The organization's billing.
#[derive(Debug, Object)]
pub struct BillingOut {
    /// Billing is configured on this instance (false: self-hosted, everything unlimited, no
    /// billing screens).
    pub enabled: bool,
    /// `self_hosted`, `free`, `team`, `business`, `enterprise`.
    pub plan: String,
    /// The plan's display name.
    pub plan_name: String,
    /// `self_hosted`, `free` (no subscription), or Stripe's subscription status: `trialing`,
    /// `active`, `past_due`, `canceled`, `unpaid`, `incomplete`, `paused`.
    pub status: String,
    /// `month` or `year`.
    pub interval: Option<String>,
    /// Start of the billing period (UTC day; calendar month without a subscription).
    pub period_start: NaiveDate,
    /// Last day of the billing period.
    pub period_end: NaiveDate,
    /// End of the trial.
    pub trial_end: Option<DateTime<Utc>>,
    /// Payment has been failing since.
    pub past_due_since: Option<DateTime<Utc>>,
    /// While past due: when the organization becomes restricted.
    pub grace_ends_at: Option<DateTime<Utc>>,
    /// Payment failed for longer than the grace period: features above Free are off (data
    /// stays readable, ingestion continues) until paid.
    pub restricted: bool,
    /// The subscription ends with the period.
    pub cancel_at_period_end: bool,
    /// What the organization has now.
    pub entitlements: GrantsOut,
    /// Usage per product this period.
    pub usage: Vec<UsageOut>,
    /// What is in use beyond the plan's limits.
    pub over: Vec<OverLimitOut>,
    /// The plans on sale (empty without billing).
    pub plans: Vec<PlanOut>,
    /// The caller may change the plan (owners, when billing is configured).
    pub can_manage: bool,
}

/// A paid plan's billing interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum IntervalDto {
    /// Monthly.
    Month,
    /// Yearly.
    Year,
}

/// A paid plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum PaidPlanDto {
    /// Team.
    Team,
    /// Business.
    Business,
    /// Enterprise.
    Enterprise,
}

/// What to buy.
#[derive(Debug, Object)]
pub struct CheckoutIn {
    /// The plan.
    pub plan: PaidPlanDto,
    /// Monthly or yearly.
    pub interval: IntervalDto,
}

/// Where to send the browser.
#[derive(Debug, Object)]
pub struct RedirectOut {
    /// A Stripe page (Checkout or the Customer Portal).
    pub url: String,
}

/// An invoice.
#[derive(Debug, Object)]
pub struct InvoiceOut {
    /// Stripe's id (`in_…`).
    pub id: String,
    /// Invoice number.
    pub number: Option<String>,
    /// `draft`, `open`, `paid`, `uncollectible`, `void`.
    pub status: Option<String>,
    /// Amount due, in the currency's smallest unit.
    pub amount_due: i64,
    /// Amount paid, in the currency's smallest unit.
    pub amount_paid: i64,
    /// Three-letter currency code.
    pub currency: String,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Stripe's page for it.
    pub hosted_invoice_url: Option<String>,
    /// Its PDF.
    pub invoice_pdf: Option<String>,
}

/// The customer's latest invoices.
#[derive(Debug, Object)]
pub struct InvoicesOut {
    /// Newest first (at most 24).
    pub items: Vec<InvoiceOut>,
}

/// What the webhook did.
#[derive(Debug, Object)]
pub struct WebhookOut {
    /// Always true: Stripe stops redelivering.
    pub received: bool,
    /// `applied`, `duplicate` (seen before), `ignored` (a type Beacon does not act on) or
    /// `unmatched` (no Beacon organization).
    pub outcome: String,
}

/// A Stripe webhook delivery: the JSON body as received, since the signature covers its exact
/// bytes (`application/json`, with or without a `charset`).
pub struct WebhookBody(pub Vec<u8>);

impl Payload for WebhookBody {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .parse::<mime::Mime>()
            .is_ok_and(|mime| mime.type_() == "application" && mime.subtype() == "json")
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("object")))
    }
}

/// The webhook's request body.
#[derive(ApiRequest)]
pub enum WebhookRequest {
    /// Stripe's event.
    Json(WebhookBody),
}

impl ParsePayload for WebhookBody {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        Ok(Self(
            <Vec<u8> as poem::FromRequest>::from_request(request, body).await?,
        ))
    }
}

fn disabled() -> ApiError {
    ApiError::new(
        poem::http::StatusCode::NOT_FOUND,
        ProblemKind::BillingNotConfigured,
        "billing is not configured on this instance (no Stripe key): every organization has \
         everything, unlimited",
    )
}

fn plan_of(dto: PaidPlanDto) -> PlanId {
    match dto {
        PaidPlanDto::Team => PlanId::Team,
        PaidPlanDto::Business => PlanId::Business,
        PaidPlanDto::Enterprise => PlanId::Enterprise,
    }
}

/// The billing answer for `org` with `entitlements`, read on `conn`.
async fn billing_out(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    org: OrgId,
    entitlements: &Entitlements,
    enabled: bool,
    can_manage: bool,
    now: DateTime<Utc>,
) -> Result<BillingOut, DbError> {
    let (period_start, period_end) = entitlements.period_days(now);
    let usage = if enabled {
        metering::report(conn, org, entitlements, now).await?
    } else {
        Vec::new()
    };
    let mut over = Vec::new();
    for (limit, what) in [(Limit::Projects, "projects"), (Limit::Seats, "seats")] {
        // Counted only under a limit (never for self-hosting).
        let Some(max) = entitlements.limit(limit) else {
            continue;
        };
        let used = match limit {
            Limit::Projects => rows::projects_used(conn, org).await?,
            Limit::Seats => rows::seats_used(conn, org).await?,
        };
        if used > max {
            over.push(OverLimitOut {
                what: what.to_string(),
                limit: max,
                used,
            });
        }
    }
    Ok(BillingOut {
        enabled,
        plan: entitlements.plan.as_str().to_string(),
        plan_name: plans::plan(entitlements.plan).name.to_string(),
        status: entitlements.status.clone(),
        interval: entitlements.interval.map(|i| i.as_str().to_string()),
        period_start,
        period_end,
        trial_end: entitlements.trial_end,
        past_due_since: entitlements.past_due_since,
        grace_ends_at: entitlements
            .past_due_since
            .filter(|_| entitlements.status == "past_due")
            .map(|since| since + DUNNING_GRACE),
        restricted: entitlements.restricted,
        cancel_at_period_end: entitlements.cancel_at_period_end,
        entitlements: GrantsOut::from(&entitlements.grants),
        usage: usage.into_iter().map(UsageOut::from).collect(),
        over,
        plans: if enabled {
            plans::PLANS.iter().map(PlanOut::from).collect()
        } else {
            Vec::new()
        },
        can_manage: enabled && can_manage,
    })
}

/// Billing.
#[derive(Default)]
pub struct BillingApi;

#[OpenApi(tag = "ApiTags::Billing")]
impl BillingApi {
    /// The organization's plan, status, period, entitlements, usage per product this period and
    /// what is over its limits. Without billing configured: the self-hosted plan, unlimited.
    #[oai(
        path = "/api/v1/orgs/:org_id/billing",
        method = "get",
        operation_id = "get_billing"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Viewer>,
    ) -> ApiResult<Json<BillingOut>> {
        let org = scope.org();
        let entitlements = scope.entitlements.clone();
        let enabled = state.billing.is_enabled();
        let can_manage = scope.access.role == tenant::tables::memberships::Role::Owner
            && scope.access.user_id.is_some();
        let now = state.clock.now();
        let out = scope
            .run(async |conn| billing_out(conn, org, &entitlements, enabled, can_manage, now).await)
            .await?;
        Ok(Json(out))
    }

    /// Start buying a plan: creates the organization's Stripe customer once, then a Checkout
    /// Session in subscription mode (a 14-day trial without a card for the organization's
    /// first subscription); answers its URL. Owners only.
    #[oai(
        path = "/api/v1/orgs/:org_id/billing/checkout",
        method = "post",
        operation_id = "create_checkout"
    )]
    async fn checkout(
        &self,
        state: Data<&AppState>,
        req: &Request,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        body: Json<CheckoutIn>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<RedirectOut>> {
        let stripe = state.billing.stripe().ok_or_else(disabled)?.clone();
        let org = scope.org();
        let plan = plans::plan(plan_of(body.plan));
        let interval = match body.interval {
            IntervalDto::Month => Interval::Month,
            IntervalDto::Year => Interval::Year,
        };
        let base = state.app_url(req)?;
        let price = stripe.price_id(&plan.lookup_key(interval)).await?;
        let user = scope.caller.user()?;
        let url = scope
            .run(async |conn| {
                let mut row = rows::get(conn, org, true).await?;
                let customer = match row.as_ref().and_then(|row| row.stripe_customer_id.clone()) {
                    Some(customer) => customer,
                    None => {
                        let name = organizations::get(conn, org)
                            .await?
                            .map(|org| org.name)
                            .unwrap_or_default();
                        let email = tenant::tables::users::find(conn, user.uuid())
                            .await?
                            .map(|user| user.email)
                            .unwrap_or_default();
                        let customer = stripe.create_customer(org, &name, &email).await?;
                        let saved = rows::OrgBilling {
                            org_id: org,
                            stripe_customer_id: Some(customer.clone()),
                            stripe_subscription_id: None,
                            plan: PlanId::Free.as_str().to_string(),
                            billing_interval: None,
                            status: "none".into(),
                            current_period_start: None,
                            current_period_end: None,
                            trial_end: None,
                            cancel_at_period_end: false,
                            past_due_since: None,
                            trial_used: false,
                        };
                        rows::save(conn, &saved).await?;
                        row = Some(saved);
                        customer
                    }
                };
                let trial = !row.as_ref().is_some_and(|row| row.trial_used);
                let url = stripe
                    .create_checkout(CheckoutRequest {
                        customer: &customer,
                        price: &price,
                        trial_days: trial.then_some(TRIAL_DAYS),
                        org,
                        success_url: &format!("{base}/orgs/{org}/billing?checkout=success"),
                        cancel_url: &format!("{base}/orgs/{org}/billing?checkout=canceled"),
                    })
                    .await?;
                let changes = Changes::default()
                    .set("plan", serde_json::Value::Null, plan.id.as_str().into())
                    .set(
                        "billing_interval",
                        serde_json::Value::Null,
                        interval.as_str().into(),
                    );
                let entry = Entry::new(AuditAction::BillingCheckoutStarted, org).with(changes);
                audit::record(conn, org, entry).await?;
                Ok::<_, ApiError>(url)
            })
            .await?;
        state.billing.forget(org);
        Ok(Json(RedirectOut { url }))
    }

    /// A Stripe Customer Portal session (payment methods, plan changes, cancellation,
    /// invoices); answers its URL. Owners only, after a first checkout.
    #[oai(
        path = "/api/v1/orgs/:org_id/billing/portal",
        method = "post",
        operation_id = "create_billing_portal"
    )]
    async fn portal(
        &self,
        state: Data<&AppState>,
        req: &Request,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<RedirectOut>> {
        let stripe = state.billing.stripe().ok_or_else(disabled)?.clone();
        let org = scope.org();
        let base = state.app_url(req)?;
        let url = scope
            .run(async |conn| {
                let customer = rows::customer_id(conn, org).await?.ok_or_else(|| {
                    ApiError::new(
                        poem::http::StatusCode::CONFLICT,
                        ProblemKind::Conflict,
                        "the organization has no Stripe customer yet: choose a plan first",
                    )
                })?;
                let url = stripe
                    .create_portal(&customer, &format!("{base}/orgs/{org}/billing"))
                    .await?;
                audit::record(conn, org, Entry::new(AuditAction::BillingPortalOpened, org)).await?;
                Ok::<_, ApiError>(url)
            })
            .await?;
        Ok(Json(RedirectOut { url }))
    }

    /// The organization's latest invoices, read from Stripe. Owners only.
    #[oai(
        path = "/api/v1/orgs/:org_id/billing/invoices",
        method = "get",
        operation_id = "list_invoices"
    )]
    async fn invoices(
        &self,
        state: Data<&AppState>,
        #[oai(name = "org_id")] _org_id: Path<Uuid>,
        scope: OrgScope<Owner>,
    ) -> ApiResult<Json<InvoicesOut>> {
        let stripe = state.billing.stripe().ok_or_else(disabled)?.clone();
        let org = scope.org();
        let customer = scope
            .run(async |conn| Ok::<_, DbError>(rows::customer_id(conn, org).await?))
            .await?;
        let Some(customer) = customer else {
            return Ok(Json(InvoicesOut { items: Vec::new() }));
        };
        let items = stripe
            .invoices(&customer, 24)
            .await?
            .into_iter()
            .map(|invoice| InvoiceOut {
                id: invoice.id,
                number: invoice.number,
                status: invoice.status,
                amount_due: invoice.amount_due,
                amount_paid: invoice.amount_paid,
                currency: invoice.currency,
                created_at: DateTime::from_timestamp(invoice.created, 0),
                hosted_invoice_url: invoice.hosted_invoice_url,
                invoice_pdf: invoice.invoice_pdf,
            })
            .collect();
        Ok(Json(InvoicesOut { items }))
    }

    /// Stripe's webhook. Verifies `Stripe-Signature` (HMAC-SHA256 of `t.body`, any `v1`, 300 s
    /// tolerance, either configured secret) and refuses a bad or stale one with 400, storing
    /// nothing. Each event is applied once; subscription and invoice events make Beacon read
    /// the subscription again from Stripe and store its state now (events arrive out of
    /// order). Types Beacon does not act on are answered 200 and counted.
    #[oai(
        path = "/api/billing/stripe/webhook",
        method = "post",
        operation_id = "stripe_webhook"
    )]
    async fn webhook(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: WebhookRequest,
    ) -> ApiResult<Json<WebhookOut>> {
        let billing = &state.billing;
        let stripe = billing.stripe().ok_or_else(disabled)?;
        let WebhookRequest::Json(WebhookBody(payload)) = body;
        let now = state.clock.now();
        let header = req
            .headers()
            .get("stripe-signature")
            .and_then(|value| value.to_str().ok());
        if let Err(error) = webhook::verify(&payload, header, billing.webhook_secrets(), now) {
            state.metrics.stripe_webhook(WebhookOutcome::Refused);
            return Err(ApiError::bad_request(
                ProblemKind::InvalidSignature,
                error.to_string(),
            ));
        }
        let event = Event::parse(&payload).map_err(|error| {
            ApiError::bad_request(ProblemKind::InvalidJson, format!("the event is {error}"))
        })?;
        let outcome = match event.action() {
            Action::Ignore => WebhookOutcome::Ignored,
            Action::Sync {
                subscription,
                org,
                customer: _,
            } => {
                let subscription = stripe.subscription(&subscription).await?;
                let named = match subscription.metadata.get("org_id").cloned().or(org) {
                    Some(org) => Some(org),
                    None => stripe.customer_org(&subscription.customer).await?,
                };
                match named.and_then(|org| Uuid::try_parse(&org).ok()) {
                    None => WebhookOutcome::Unmatched,
                    Some(org) => {
                        apply(&state, OrgId::from_uuid(org), &event, &subscription, now).await?
                    }
                }
            }
        };
        state.metrics.stripe_webhook(outcome);
        if outcome == WebhookOutcome::Unmatched {
            tracing::warn!(event = %event.id, kind = %event.kind, "a Stripe event names no Beacon organization");
        }
        Ok(Json(WebhookOut {
            received: true,
            outcome: outcome.as_str().to_string(),
        }))
    }
}

/// Stores `subscription` for `org` in its scope (with the e-mail it calls for, and the quotas
/// settled again under the new plan, so an upgrade lifts a block at once).
async fn apply(
    state: &AppState,
    org: OrgId,
    event: &Event,
    subscription: &billing::stripe::Subscription,
    now: DateTime<Utc>,
) -> ApiResult<WebhookOutcome> {
    let outcome = state
        .db
        .scoped_as(org, &Actor::System("stripe_webhook"), async |conn| {
            if organizations::get(conn, org).await?.is_none() {
                return Ok::<_, DbError>(WebhookOutcome::Unmatched);
            }
            match sync::apply(conn, org, event, subscription, now).await? {
                Applied::Duplicate => Ok(WebhookOutcome::Duplicate),
                Applied::CustomerMismatch => Ok(WebhookOutcome::Unmatched),
                Applied::Superseded => Ok(WebhookOutcome::Applied),
                Applied::Saved { row, notice } => {
                    // The e-mail the change calls for, and those of the quotas settled again
                    // under the new plan.
                    let entitlements = Entitlements::from_billing(Some(&row), now);
                    let settled = metering::settle(conn, org, &entitlements, now).await?;
                    SendBillingNotice::enqueue_all(conn, org, notice.into_iter().chain(settled))
                        .await?;
                    Ok(WebhookOutcome::Applied)
                }
            }
        })
        .await?;
    state.billing.forget(org);
    Ok(outcome)
}
