-- Billing: each organization's Stripe customer and subscription as last read from Stripe, the
-- webhook events applied (each once), usage per product and day, quota state per product,
-- e-mails sent once per threshold and period, and events dropped over quota per day.
-- Every table is a tenant table. The webhook finds the organization in the Stripe object's
-- metadata (set by Beacon at checkout) before it touches any row.

CREATE TABLE org_billing (
    org_id uuid PRIMARY KEY REFERENCES organizations (org_id) ON DELETE CASCADE,
    stripe_customer_id text UNIQUE CHECK (length(stripe_customer_id) BETWEEN 1 AND 255),
    stripe_subscription_id text CHECK (length(stripe_subscription_id) BETWEEN 1 AND 255),
    plan text NOT NULL CHECK (length(plan) BETWEEN 1 AND 40),
    billing_interval text CHECK (billing_interval IN ('month', 'year')),
    status text NOT NULL CHECK (status IN ('none', 'trialing', 'active', 'past_due', 'canceled', 'incomplete', 'unpaid', 'paused')),
    current_period_start timestamptz,
    current_period_end timestamptz,
    trial_end timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    past_due_since timestamptz,
    trial_used boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE org_billing IS 'The organization''s Stripe customer and subscription, as last read from Stripe. No row: the Free plan (or self-hosted when billing is not configured).';
COMMENT ON COLUMN org_billing.past_due_since IS 'When the subscription became past_due; the grace period of dunning counts from here.';
COMMENT ON COLUMN org_billing.trial_used IS 'The organization had a subscription once, so a new checkout gets no trial.';

CREATE TABLE stripe_events (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    event_id text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    event_type text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 255),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, event_id)
);
COMMENT ON TABLE stripe_events IS 'Stripe webhook events applied, so a redelivery is a no-op.';

CREATE TABLE usage_daily (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    product text NOT NULL CHECK (product IN ('events', 'errors', 'replays')),
    day date NOT NULL,
    quantity bigint NOT NULL CHECK (quantity >= 0),
    reported_at timestamptz,
    PRIMARY KEY (org_id, product, day)
);
COMMENT ON TABLE usage_daily IS 'Stored events per product and UTC day, counted by the usage job; reported_at: sent to Stripe as a meter event (only for finished days).';

CREATE TABLE quota_state (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    product text NOT NULL CHECK (product IN ('events', 'errors', 'replays')),
    period_start date NOT NULL,
    used bigint NOT NULL CHECK (used >= 0),
    quota bigint CHECK (quota >= 0),
    over_since timestamptz,
    blocked boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, product)
);
COMMENT ON TABLE quota_state IS 'Usage against quota in the current period; blocked: over quota for longer than the grace period, so ingestion drops this product.';

CREATE TABLE billing_notices (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 80),
    period_start date NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, kind, period_start)
);
COMMENT ON TABLE billing_notices IS 'E-mails sent to owners (quota at 80% and 100%, payment failed), once per kind and period.';

CREATE TABLE dropped_daily (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    product text NOT NULL CHECK (product IN ('events', 'errors', 'replays')),
    day date NOT NULL,
    dropped bigint NOT NULL CHECK (dropped >= 0),
    PRIMARY KEY (org_id, product, day)
);
COMMENT ON TABLE dropped_daily IS 'Events refused over quota per product and UTC day (they were not stored).';

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['org_billing', 'stripe_events', 'usage_daily', 'quota_state',
                             'billing_notices', 'dropped_daily'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = beacon_current_org()) '
                       'WITH CHECK (org_id = beacon_current_org())', t);
    END LOOP;
END $$;

-- The usage job counts stored events per organization and day as beacon_sweeper (events and
-- error events are already readable to it) and records the counts; everything else it does
-- per organization, in that organization's scope.
GRANT SELECT, INSERT, UPDATE ON usage_daily TO beacon_sweeper;
CREATE POLICY sweep_all ON usage_daily TO beacon_sweeper USING (true) WITH CHECK (true);

-- Ingestion reads which organizations are blocked (all at once, every few seconds, never per
-- event) and adds up what it dropped.
GRANT SELECT ON quota_state TO beacon_ingest;
CREATE POLICY ingest_read ON quota_state FOR SELECT TO beacon_ingest USING (true);
GRANT SELECT, INSERT, UPDATE ON dropped_daily TO beacon_ingest;
CREATE POLICY ingest_all ON dropped_daily TO beacon_ingest USING (true) WITH CHECK (true);
