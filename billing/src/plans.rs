//! The plans Beacon sells, in one checked-in table: what each grants and which Stripe price
//! each plan and interval is sold at.
//!
//! Prices are found in Stripe by **lookup key** (`beacon_team_month`, …), so the same table works
//! in test mode and live mode and in every Stripe account: create the prices once with those
//! keys (docs/billing.md). The amounts here are what the dashboard shows; they must match the
//! prices in Stripe.

use serde::Serialize;
use tenant::tables::usage::Product;

/// A plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanId {
    /// Self-hosted (no Stripe key configured): everything, unlimited.
    SelfHosted,
    /// Free: what an organization has without a subscription.
    Free,
    /// Team.
    Team,
    /// Business.
    Business,
    /// Enterprise.
    Enterprise,
}

impl PlanId {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PlanId::SelfHosted => "self_hosted",
            PlanId::Free => "free",
            PlanId::Team => "team",
            PlanId::Business => "business",
            PlanId::Enterprise => "enterprise",
        }
    }

    /// The plan stored or asked for as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [
            PlanId::SelfHosted,
            PlanId::Free,
            PlanId::Team,
            PlanId::Business,
            PlanId::Enterprise,
        ]
        .into_iter()
        .find(|plan| plan.as_str() == name)
    }
}

/// How often a subscription is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    /// Monthly.
    Month,
    /// Yearly.
    Year,
}

impl Interval {
    /// Stripe's and the stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Interval::Month => "month",
            Interval::Year => "year",
        }
    }

    /// The interval named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "month" => Some(Interval::Month),
            "year" => Some(Interval::Year),
            _ => None,
        }
    }
}

/// A feature a plan may include (gated in the one place that reads [`crate::Entitlements`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// SAML / OIDC single sign-on.
    Sso,
    /// SCIM provisioning.
    Scim,
    /// The audit log.
    AuditLog,
    /// Custom dashboards.
    CustomDashboards,
    /// Shared links for people without an account.
    SharedLinks,
    /// Alerts and anomaly detection.
    Alerts,
    /// AI summaries.
    AiSummaries,
    /// Scheduled e-mail reports.
    Reports,
    /// The task board for errors.
    TaskBoard,
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 9] = [
        Feature::Sso,
        Feature::Scim,
        Feature::AuditLog,
        Feature::CustomDashboards,
        Feature::SharedLinks,
        Feature::Alerts,
        Feature::AiSummaries,
        Feature::Reports,
        Feature::TaskBoard,
    ];

    /// Its name in answers and problems.
    pub const fn as_str(self) -> &'static str {
        match self {
            Feature::Sso => "sso",
            Feature::Scim => "scim",
            Feature::AuditLog => "audit_log",
            Feature::CustomDashboards => "custom_dashboards",
            Feature::SharedLinks => "shared_links",
            Feature::Alerts => "alerts",
            Feature::AiSummaries => "ai_summaries",
            Feature::Reports => "reports",
            Feature::TaskBoard => "task_board",
        }
    }
}

/// What a plan grants. `None` is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grants {
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
    /// Longest data retention a project may set, in days.
    pub retention_days: Option<i32>,
    /// How long audit records are kept, in days (retention prunes older ones behind a signed
    /// checkpoint).
    pub audit_retention_days: i32,
    /// Features included.
    pub features: &'static [Feature],
}

impl Grants {
    /// The monthly quota of `product`.
    pub fn quota(&self, product: Product) -> Option<i64> {
        match product {
            Product::Events => self.events_per_month,
            Product::Errors => self.errors_per_month,
            Product::Replays => self.replays_per_month,
        }
    }

    /// Whether `feature` is included.
    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }
}

/// A plan: its grants and its prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Which plan.
    pub id: PlanId,
    /// Display name.
    pub name: &'static str,
    /// Price per month billed monthly, in US cents (0: free, none: not sold online).
    pub month_cents: Option<i64>,
    /// Price per year billed yearly, in US cents.
    pub year_cents: Option<i64>,
    /// What it grants.
    pub grants: Grants,
}

impl Plan {
    /// Whether it is sold through Stripe Checkout.
    pub fn is_paid(&self) -> bool {
        matches!(
            self.id,
            PlanId::Team | PlanId::Business | PlanId::Enterprise
        )
    }

    /// The Stripe price lookup key for `interval` (`beacon_team_month`).
    pub fn lookup_key(&self, interval: Interval) -> String {
        format!("beacon_{}_{}", self.id.as_str(), interval.as_str())
    }
}

const TEAM_FEATURES: &[Feature] = &[
    Feature::CustomDashboards,
    Feature::SharedLinks,
    Feature::TaskBoard,
    Feature::Alerts,
    Feature::Reports,
];
const BUSINESS_FEATURES: &[Feature] = &[
    Feature::CustomDashboards,
    Feature::SharedLinks,
    Feature::TaskBoard,
    Feature::Alerts,
    Feature::Reports,
    Feature::AiSummaries,
    Feature::AuditLog,
];

/// The plans, cheapest first (the order "the cheapest plan that has it" is read in).
pub const PLANS: &[Plan] = &[
    Plan {
        id: PlanId::Free,
        name: "Free",
        month_cents: Some(0),
        year_cents: Some(0),
        grants: Grants {
            events_per_month: Some(10_000),
            errors_per_month: Some(5_000),
            replays_per_month: Some(0),
            projects: Some(2),
            seats: Some(2),
            retention_days: Some(180),
            audit_retention_days: 365,
            features: &[],
        },
    },
    Plan {
        id: PlanId::Team,
        name: "Team",
        month_cents: Some(1_900),
        year_cents: Some(19_000),
        grants: Grants {
            events_per_month: Some(200_000),
            errors_per_month: Some(50_000),
            replays_per_month: Some(1_000),
            projects: Some(10),
            seats: Some(10),
            retention_days: Some(730),
            audit_retention_days: 365,
            features: TEAM_FEATURES,
        },
    },
    Plan {
        id: PlanId::Business,
        name: "Business",
        month_cents: Some(7_900),
        year_cents: Some(79_000),
        grants: Grants {
            events_per_month: Some(2_000_000),
            errors_per_month: Some(500_000),
            replays_per_month: Some(10_000),
            projects: Some(50),
            seats: Some(50),
            retention_days: Some(1_825),
            audit_retention_days: 365,
            features: BUSINESS_FEATURES,
        },
    },
    Plan {
        id: PlanId::Enterprise,
        name: "Enterprise",
        month_cents: Some(39_900),
        year_cents: Some(399_000),
        grants: Grants {
            events_per_month: Some(20_000_000),
            errors_per_month: Some(5_000_000),
            replays_per_month: Some(100_000),
            projects: None,
            seats: None,
            retention_days: Some(3_650),
            audit_retention_days: 2555,
            features: &Feature::ALL,
        },
    },
];

/// Self-hosted: everything, unlimited (not in [`PLANS`]: never sold, never shown).
pub const SELF_HOSTED: Plan = Plan {
    id: PlanId::SelfHosted,
    name: "Self-hosted",
    month_cents: None,
    year_cents: None,
    grants: Grants {
        events_per_month: None,
        errors_per_month: None,
        replays_per_month: None,
        projects: None,
        seats: None,
        retention_days: None,
        audit_retention_days: 365,
        features: &Feature::ALL,
    },
};

/// The plan `id`.
pub fn plan(id: PlanId) -> &'static Plan {
    match id {
        PlanId::SelfHosted => &SELF_HOSTED,
        other => PLANS
            .iter()
            .find(|plan| plan.id == other)
            .unwrap_or(&PLANS[0]),
    }
}

/// The plan and interval whose Stripe price has `lookup_key`.
pub fn by_lookup_key(lookup_key: &str) -> Option<(&'static Plan, Interval)> {
    PLANS.iter().filter(|plan| plan.is_paid()).find_map(|plan| {
        [Interval::Month, Interval::Year]
            .into_iter()
            .find(|interval| plan.lookup_key(*interval) == lookup_key)
            .map(|interval| (plan, interval))
    })
}

/// The cheapest plan that includes `feature`.
pub fn cheapest_with(feature: Feature) -> &'static Plan {
    PLANS
        .iter()
        .find(|plan| plan.grants.has(feature))
        .unwrap_or(&PLANS[PLANS.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_paid_plan_and_interval_maps_to_its_lookup_key_and_back() {
        for plan in PLANS.iter().filter(|plan| plan.is_paid()) {
            for interval in [Interval::Month, Interval::Year] {
                let (found, found_interval) = by_lookup_key(&plan.lookup_key(interval)).unwrap();
                assert_eq!((found.id, found_interval), (plan.id, interval));
            }
        }
        assert!(by_lookup_key("beacon_free_month").is_none());
        assert!(by_lookup_key("beacon_gold_month").is_none());
    }

    #[test]
    fn plans_grow_monotonically_and_the_cheapest_plan_with_a_feature_is_found() {
        for pair in PLANS.windows(2) {
            let (low, high) = (&pair[0].grants, &pair[1].grants);
            let more =
                |a: Option<i64>, b: Option<i64>| b.is_none() || a.is_some_and(|a| Some(a) <= b);
            assert!(more(low.events_per_month, high.events_per_month));
            assert!(more(low.projects, high.projects));
            assert!(more(low.seats, high.seats));
            assert!(low.features.iter().all(|f| high.has(*f)));
        }
        assert_eq!(cheapest_with(Feature::Alerts).id, PlanId::Team);
        assert_eq!(cheapest_with(Feature::AuditLog).id, PlanId::Business);
        assert_eq!(cheapest_with(Feature::Sso).id, PlanId::Enterprise);
        assert_eq!(plan(PlanId::Team).name, "Team");
        assert_eq!(PlanId::parse("business"), Some(PlanId::Business));
        assert_eq!(PlanId::parse("gold"), None);
    }
}
