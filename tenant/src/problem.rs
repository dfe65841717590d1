//! Why input was refused, without HTTP: one [`ProblemKind`] per problem `type` Beacon answers
//! with, and [`Invalid`], the refusal domain code returns.
//!
//! Domain code (the stats parser, ingest validation) refuses input with an [`Invalid`]; the API
//! turns it into a 400 problem+json whose `type` ends in the kind, and the worker logs it. The
//! kinds are part of the public contract (clients match on them), so one never changes once
//! shipped; `docs/api-design.md` lists them all, and a test checks the list against this enum.

macro_rules! kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// Every problem `type` Beacon answers with (the last segment of its URI).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemKind {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl ProblemKind {
            /// Every kind, in the order declared.
            pub const ALL: &'static [ProblemKind] = &[$(ProblemKind::$variant,)*];

            /// The stable snake_case name (`invalid_metric`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ProblemKind::$variant => $name,)*
                }
            }
        }
    };
}

kinds! {
    InvalidRequest => "invalid_request",
    InvalidCursor => "invalid_cursor",
    InvalidJson => "invalid_json",
    UnreadableBody => "unreadable_body",
    TokenInvalid => "token_invalid",
    Unauthorized => "unauthorized",
    Forbidden => "forbidden",
    CsrfFailed => "csrf_failed",
    EmailNotVerified => "email_not_verified",
    InvitationEmailMismatch => "invitation_email_mismatch",
    NotFound => "not_found",
    MethodNotAllowed => "method_not_allowed",
    EmailTaken => "email_taken",
    DomainTaken => "domain_taken",
    DomainNotVerified => "domain_not_verified",
    LastOwner => "last_owner",
    GoalExists => "goal_exists",
    GoalInUse => "goal_in_use",
    FunnelExists => "funnel_exists",
    Conflict => "conflict",
    TokenExpired => "token_expired",
    TokenUsed => "token_used",
    PayloadTooLarge => "payload_too_large",
    UnsupportedMediaType => "unsupported_media_type",
    InvalidEmail => "invalid_email",
    WeakPassword => "weak_password",
    InvalidName => "invalid_name",
    InvalidDomain => "invalid_domain",
    InvalidTimezone => "invalid_timezone",
    UnknownProject => "unknown_project",
    ConfirmationMismatch => "confirmation_mismatch",
    InvalidValue => "invalid_value",
    TooManyRequests => "too_many_requests",
    Unavailable => "unavailable",
    DashboardNotBuilt => "dashboard_not_built",
    Internal => "internal",
    InvalidEvent => "invalid_event",
    MissingField => "missing_field",
    InvalidField => "invalid_field",
    InvalidUrl => "invalid_url",
    InvalidProps => "invalid_props",
    InvalidRevenue => "invalid_revenue",
    InvalidTimestamp => "invalid_timestamp",
    UnknownDomain => "unknown_domain",
    InvalidVitals => "invalid_vitals",
    InvalidSite => "invalid_site",
    InvalidMetric => "invalid_metric",
    UnsupportedMetric => "unsupported_metric",
    MixedCurrencies => "mixed_currencies",
    InvalidDateRange => "invalid_date_range",
    InvalidDimension => "invalid_dimension",
    InvalidFilter => "invalid_filter",
    InvalidOrderBy => "invalid_order_by",
    InvalidPagination => "invalid_pagination",
    InvalidInclude => "invalid_include",
    InvalidWeeks => "invalid_weeks",
    InvalidGoal => "invalid_goal",
    InvalidFunnel => "invalid_funnel",
    InvalidEnvelope => "invalid_envelope",
    UnsupportedEncoding => "unsupported_encoding",
    MissingKey => "missing_key",
    InvalidKey => "invalid_key",
    PlanRequired => "plan_required",
    PlanLimitReached => "plan_limit_reached",
    QuotaExceeded => "quota_exceeded",
    BillingNotConfigured => "billing_not_configured",
    InvalidPlan => "invalid_plan",
    InvalidSignature => "invalid_signature",
    PaymentProviderError => "payment_provider_error",
    SsoRequired => "sso_required",
    SsoNotConfigured => "sso_not_configured",
    SsoStateInvalid => "sso_state_invalid",
    SsoTokenInvalid => "sso_token_invalid",
    SsoIdentityRefused => "sso_identity_refused",
    SsoProviderError => "sso_provider_error",
    InvalidSsoSettings => "invalid_sso_settings",
    ScimManaged => "scim_managed",
    InvalidAlert => "invalid_alert",
    InvalidChannel => "invalid_channel",
    AiNotConfigured => "ai_not_configured",
    AiDisabled => "ai_disabled",
    AiBudgetExhausted => "ai_budget_exhausted",
    AiUnavailable => "ai_unavailable",
    InvalidDashboard => "invalid_dashboard",
    DashboardConflict => "dashboard_conflict",
    TaskExists => "task_exists",
    InvalidReplay => "invalid_replay",
    ReplayDisabled => "replay_disabled",
    ReplayLimitReached => "replay_limit_reached",
    ReplaySessionConflict => "replay_session_conflict",
    ReplayDeleted => "replay_deleted",
    InvalidHeatmap => "invalid_heatmap",
    HeatmapsDisabled => "heatmaps_disabled",
    InvalidSharedLink => "invalid_shared_link",
    SharedLinkLocked => "shared_link_locked",
    SharedLinkClosed => "shared_link_closed",
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ProblemKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Input the domain refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct Invalid {
    /// Stable problem kind (e.g. `invalid_metric`).
    pub kind: ProblemKind,
    /// What was wrong this time.
    pub detail: String,
}

impl Invalid {
    /// Refuses input as `kind`, saying why.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<&str> = ProblemKind::ALL.iter().map(|k| k.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ProblemKind::ALL.len());
    }
}
