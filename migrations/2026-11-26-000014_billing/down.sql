DROP TABLE dropped_daily, billing_notices, quota_state, usage_daily, stripe_events, org_billing;
