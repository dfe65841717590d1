//! [`Entitlements`]: what an organization may do now, from its plan and the state of its
//! subscription. Every gate reads this one value; nothing else asks which plan an organization
//! is on.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use tenant::problem::ProblemKind;
use tenant::tables::billing::OrgBilling;

use crate::plans::{self, Feature, Grants, Interval, PlanId};

/// How long a `past_due` subscription keeps its plan before the organization is restricted.
pub const DUNNING_GRACE: Duration = Duration::days(7);

/// How long a product keeps being stored over its quota before new events are dropped.
pub const QUOTA_GRACE: Duration = Duration::days(7);

/// A gate's refusal: a problem kind and a sentence naming what is needed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct Refusal {
    /// `plan_required` or `plan_limit_reached`.
    pub kind: ProblemKind,
    /// What was refused and which plan allows it.
    pub detail: String,
    /// The cheapest plan that allows it, when one does.
    pub plan: Option<PlanId>,
}

/// A limit counted against a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Projects.
    Projects,
    /// Seats (members plus pending invitations).
    Seats,
}

impl Limit {
    fn of(self, grants: &Grants) -> Option<i64> {
        match self {
            Limit::Projects => grants.projects,
            Limit::Seats => grants.seats,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Limit::Projects => "projects",
            Limit::Seats => "seats (members and pending invitations)",
        }
    }
}

/// What an organization may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlements {
    /// The plan paid for (or Free, or self-hosted).
    pub plan: PlanId,
    /// `self_hosted`, `free` (no subscription) or Stripe's subscription status.
    pub status: String,
    /// `month` or `year` for a subscription.
    pub interval: Option<Interval>,
    /// What the organization has now: the plan's grants, or Free's features and limits while
    /// restricted (its quotas stay the plan's: ingestion continues).
    pub grants: Grants,
    /// Payment failed longer ago than the grace period.
    pub restricted: bool,
    /// When payment started failing.
    pub past_due_since: Option<DateTime<Utc>>,
    /// End of the trial.
    pub trial_end: Option<DateTime<Utc>>,
    /// The subscription's period (none without one: calendar months).
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Cancels at the end of the period.
    pub cancel_at_period_end: bool,
}

impl Entitlements {
    /// No Stripe key configured: everything, unlimited.
    pub fn self_hosted() -> Self {
        Self {
            plan: PlanId::SelfHosted,
            status: "self_hosted".into(),
            interval: None,
            grants: plans::SELF_HOSTED.grants.clone(),
            restricted: false,
            past_due_since: None,
            trial_end: None,
            period: None,
            cancel_at_period_end: false,
        }
    }

    /// From the stored subscription (none: never subscribed) at `now`.
    pub fn from_billing(row: Option<&OrgBilling>, now: DateTime<Utc>) -> Self {
        let free = plans::plan(PlanId::Free);
        let Some(row) = row else {
            return Self {
                plan: PlanId::Free,
                status: "free".into(),
                interval: None,
                grants: free.grants.clone(),
                restricted: false,
                past_due_since: None,
                trial_end: None,
                period: None,
                cancel_at_period_end: false,
            };
        };
        let paid = PlanId::parse(&row.plan).unwrap_or(PlanId::Free);
        let (plan, restricted) = match row.status.as_str() {
            "trialing" | "active" => (paid, false),
            "past_due" => {
                let since = row.past_due_since.unwrap_or(now);
                (paid, now - since >= DUNNING_GRACE)
            }
            // Stripe gave up collecting: restricted until paid.
            "unpaid" => (paid, true),
            // canceled, incomplete (never paid), incomplete_expired, paused, none.
            _ => (PlanId::Free, false),
        };
        let mut grants = plans::plan(plan).grants.clone();
        if restricted {
            let quotas = grants.clone();
            grants = Grants {
                events_per_month: quotas.events_per_month,
                errors_per_month: quotas.errors_per_month,
                replays_per_month: quotas.replays_per_month,
                // Unpaid is no reason to delete audit history.
                audit_retention_days: quotas.audit_retention_days,
                ..free.grants.clone()
            };
        }
        let subscribed = plan != PlanId::Free;
        Self {
            plan,
            status: if row.status == "none" {
                "free".into()
            } else {
                row.status.clone()
            },
            interval: row.billing_interval.as_deref().and_then(Interval::parse),
            grants,
            restricted,
            past_due_since: row.past_due_since,
            trial_end: row.trial_end,
            period: match (subscribed, row.current_period_start, row.current_period_end) {
                (true, Some(start), Some(end)) => Some((start, end)),
                _ => None,
            },
            cancel_at_period_end: row.cancel_at_period_end,
        }
    }

    /// Whether this is the self-hosted plan (no billing screens, no gates).
    pub fn is_self_hosted(&self) -> bool {
        self.plan == PlanId::SelfHosted
    }

    /// Refuses unless the organization has `feature`, naming the cheapest plan that has it.
    pub fn require(&self, feature: Feature) -> Result<(), Refusal> {
        if self.grants.has(feature) {
            return Ok(());
        }
        let needed = plans::cheapest_with(feature);
        let why = if self.restricted {
            " (the organization is restricted until its overdue payment is made)"
        } else {
            ""
        };
        Err(Refusal {
            kind: ProblemKind::PlanRequired,
            detail: format!(
                "{} needs the {} plan or higher{why}",
                feature.as_str(),
                needed.name
            ),
            plan: Some(needed.id),
        })
    }

    /// Refuses adding `adding` to `used` of `limit` when that would pass the plan's limit.
    pub fn check_limit(&self, limit: Limit, used: i64, adding: i64) -> Result<(), Refusal> {
        let Some(max) = limit.of(&self.grants) else {
            return Ok(());
        };
        if used + adding <= max {
            return Ok(());
        }
        let next = plans::PLANS.iter().find(|plan| {
            limit
                .of(&plan.grants)
                .is_none_or(|more| more >= used + adding)
        });
        let upgrade = match next {
            Some(plan) => format!("; the {} plan allows more", plan.name),
            None => String::new(),
        };
        Err(Refusal {
            kind: ProblemKind::PlanLimitReached,
            detail: format!(
                "the {} plan allows {max} {}, and {used} are in use{upgrade}",
                plans::plan(self.plan).name,
                limit.noun()
            ),
            plan: next.map(|plan| plan.id),
        })
    }

    /// Refuses a data retention longer than the plan keeps, naming the plan that keeps it.
    pub fn check_retention(&self, days: i32) -> Result<(), Refusal> {
        let Some(max) = self.grants.retention_days else {
            return Ok(());
        };
        if days <= max {
            return Ok(());
        }
        let next = plans::PLANS
            .iter()
            .find(|plan| plan.grants.retention_days.is_none_or(|more| more >= days));
        let upgrade = match next {
            Some(plan) => format!("; the {} plan keeps it", plan.name),
            None => String::new(),
        };
        Err(Refusal {
            kind: ProblemKind::PlanLimitReached,
            detail: format!(
                "the {} plan keeps data for at most {max} days, not {days}{upgrade}",
                plans::plan(self.plan).name
            ),
            plan: next.map(|plan| plan.id),
        })
    }

    /// How many of `limit` the plan allows (none: unlimited).
    pub fn limit(&self, limit: Limit) -> Option<i64> {
        limit.of(&self.grants)
    }

    /// The current billing period's first and last day (UTC): the subscription's, or the
    /// calendar month without one.
    pub fn period_days(&self, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
        if let Some((start, end)) = self.period
            && start <= now
            && now < end
        {
            let last = (end - Duration::seconds(1)).date_naive();
            return (start.date_naive(), last.max(start.date_naive()));
        }
        let today = now.date_naive();
        let first = today.with_day(1).unwrap_or(today);
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(first);
        (first, next.pred_opt().unwrap_or(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenant::OrgId;

    fn row(plan: &str, status: &str) -> OrgBilling {
        OrgBilling {
            org_id: OrgId::generate(),
            stripe_customer_id: Some("cus_1".into()),
            stripe_subscription_id: Some("sub_1".into()),
            plan: plan.into(),
            billing_interval: Some("month".into()),
            status: status.into(),
            current_period_start: None,
            current_period_end: None,
            trial_end: None,
            cancel_at_period_end: false,
            past_due_since: None,
            trial_used: true,
        }
    }

    #[test]
    fn a_refused_feature_names_the_cheapest_plan_that_has_it() {
        let free = Entitlements::from_billing(None, Utc::now());
        let refusal = free.require(Feature::Alerts).unwrap_err();
        assert_eq!(refusal.kind, ProblemKind::PlanRequired);
        assert_eq!(refusal.plan, Some(PlanId::Team));
        assert!(refusal.detail.contains("Team"), "{}", refusal.detail);
        let team = Entitlements::from_billing(Some(&row("team", "active")), Utc::now());
        assert!(team.require(Feature::Alerts).is_ok());
        assert!(team.require(Feature::Sso).is_err());
        assert!(Entitlements::self_hosted().require(Feature::Sso).is_ok());
    }

    #[test]
    fn limits_count_what_is_used_plus_what_is_added() {
        let free = Entitlements::from_billing(None, Utc::now());
        assert!(free.check_limit(Limit::Projects, 1, 1).is_ok());
        let refusal = free.check_limit(Limit::Projects, 2, 1).unwrap_err();
        assert_eq!(refusal.kind, ProblemKind::PlanLimitReached);
        assert_eq!(refusal.plan, Some(PlanId::Team));
        assert!(
            refusal.detail.contains("allows 2 projects"),
            "{}",
            refusal.detail
        );
        assert!(
            Entitlements::self_hosted()
                .check_limit(Limit::Seats, 10_000, 1)
                .is_ok()
        );
    }

    #[test]
    fn retention_is_capped_by_the_plan_and_names_the_plan_that_keeps_more() {
        let free = Entitlements::from_billing(None, Utc::now());
        assert!(free.check_retention(180).is_ok());
        let refusal = free.check_retention(365).unwrap_err();
        assert_eq!(refusal.plan, Some(PlanId::Team));
        assert!(
            refusal.detail.contains("at most 180 days"),
            "{}",
            refusal.detail
        );
        assert!(Entitlements::self_hosted().check_retention(3650).is_ok());
    }

    #[test]
    fn past_due_keeps_the_plan_for_the_grace_period_then_restricts_features_not_quotas() {
        let now = Utc::now();
        let mut billing = row("business", "past_due");
        billing.past_due_since = Some(now - Duration::days(6));
        let grace = Entitlements::from_billing(Some(&billing), now);
        assert!(!grace.restricted);
        assert!(grace.require(Feature::AuditLog).is_ok());
        billing.past_due_since = Some(now - Duration::days(8));
        let late = Entitlements::from_billing(Some(&billing), now);
        assert!(late.restricted);
        assert!(late.require(Feature::AuditLog).is_err());
        assert_eq!(late.grants.projects, Some(2));
        assert_eq!(late.grants.events_per_month, Some(2_000_000));
        let canceled = Entitlements::from_billing(Some(&row("business", "canceled")), now);
        assert_eq!(canceled.plan, PlanId::Free);
    }

    #[test]
    fn the_period_is_the_subscriptions_or_the_calendar_month() {
        let now = "2026-03-15T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let free = Entitlements::from_billing(None, now);
        assert_eq!(
            free.period_days(now),
            (
                NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
            )
        );
        let mut billing = row("team", "active");
        billing.current_period_start = Some("2026-03-10T08:00:00Z".parse().unwrap());
        billing.current_period_end = Some("2026-04-10T08:00:00Z".parse().unwrap());
        let team = Entitlements::from_billing(Some(&billing), now);
        assert_eq!(
            team.period_days(now),
            (
                NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
                NaiveDate::from_ymd_opt(2026, 4, 10).unwrap()
            )
        );
    }
}
