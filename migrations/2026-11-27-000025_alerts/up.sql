-- Alerts: rules on a project's numbers, evaluated on a schedule by the worker; the channels
-- their notifications go to (e-mail, Slack, Microsoft Teams, Discord, signed webhooks); and
-- each notification as a delivery the worker sends and retries (an outbox, written in the same
-- transaction as the state change that caused it, so nothing is lost and nothing sent twice).

-- When a local time falls on a calendar cadence. `every` counts whole minutes since the epoch
-- (time zones do not matter); `daily`, `weekly` (ISO weekday 1 = Monday) and `monthly` (the 1st)
-- happen at `local_time` in `tz`. A local time that does not exist (spring forward) is read as
-- PostgreSQL reads it (an hour later); one that exists twice (fall back) names one instant:
-- each local day has exactly one slot.
CREATE FUNCTION beacon_slot_on(cadence text, local_time time, weekday integer, tz text, day date)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN cadence = 'daily'
                  OR (cadence = 'weekly' AND extract(isodow FROM day) = weekday)
                  OR (cadence = 'monthly' AND extract(day FROM day) = 1)
                THEN (day + local_time) AT TIME ZONE tz END
$$;

-- The first slot strictly after `after`.
CREATE FUNCTION beacon_next_slot(cadence text, every_minutes integer, local_time time,
                                 weekday integer, tz text, after timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    day date := (after AT TIME ZONE tz)::date - 1;
    slot timestamptz;
BEGIN
    IF cadence = 'every' THEN
        RETURN to_timestamp((floor(extract(epoch FROM after) / (every_minutes * 60)) + 1)
                            * every_minutes * 60);
    END IF;
    FOR i IN 0..64 LOOP
        slot := beacon_slot_on(cadence, local_time, weekday, tz, day + i);
        IF slot > after THEN
            RETURN slot;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- The last slot at or before `at` (what a worker runs after downtime: one run, not one per
-- missed slot).
CREATE FUNCTION beacon_last_slot(cadence text, every_minutes integer, local_time time,
                                 weekday integer, tz text, at timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    day date := (at AT TIME ZONE tz)::date + 1;
    slot timestamptz;
BEGIN
    IF cadence = 'every' THEN
        RETURN to_timestamp(floor(extract(epoch FROM at) / (every_minutes * 60)) * every_minutes * 60);
    END IF;
    FOR i IN 0..64 LOOP
        slot := beacon_slot_on(cadence, local_time, weekday, tz, day - i);
        IF slot <= at THEN
            RETURN slot;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

CREATE TABLE notification_channels (
    org_id uuid NOT NULL REFERENCES organizations (org_id) ON DELETE CASCADE,
    channel_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('email', 'slack', 'teams', 'discord', 'webhook')),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The receiver's host, shown in lists (the whole URL of a chat webhook is its secret).
    url_host text CHECK (length(url_host) <= 255),
    -- Sealed (tenant::sealed): the receiver's URL, and a webhook's signing secret(s).
    url_sealed bytea,
    secret_sealed bytea,
    previous_secret_sealed bytea,
    previous_secret_until timestamptz,
    emails text[] NOT NULL DEFAULT '{}' CHECK (cardinality(emails) <= 50),
    member_ids uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(member_ids) <= 200),
    enabled boolean NOT NULL DEFAULT true,
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    disabled_reason text CHECK (length(disabled_reason) <= 500),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, channel_id),
    CHECK ((kind = 'email') = (url_sealed IS NULL)),
    CHECK ((kind = 'webhook') = (secret_sealed IS NOT NULL))
);
COMMENT ON TABLE notification_channels IS 'Where an organization''s notifications go; URLs and signing secrets are sealed and never answered by the API.';

CREATE TABLE alerts (
    org_id uuid NOT NULL,
    alert_id uuid NOT NULL,
    project_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    metric text NOT NULL CHECK (metric IN (
        'visitors', 'visits', 'pageviews', 'events', 'bounce_rate', 'visit_duration',
        'views_per_visit', 'conversion_rate', 'error_events', 'new_error_issues',
        'lcp_p75', 'inp_p75', 'cls_p75', 'fcp_p75', 'ttfb_p75')),
    -- Stats API filters (validated by its parser), applied to the analytics metrics.
    filters jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(filters) = 'array'),
    window_minutes integer NOT NULL CHECK (window_minutes BETWEEN 5 AND 10080),
    condition text NOT NULL CHECK (condition IN ('above', 'below', 'increase_pct', 'decrease_pct', 'anomaly')),
    baseline text CHECK (baseline IN ('previous_period', 'last_week')),
    -- Anomaly rules: how wide the band of normal values is (a 99.9, 99 or 95 % interval).
    sensitivity text CHECK (sensitivity IN ('low', 'medium', 'high')),
    warning double precision,
    critical double precision,
    resolve double precision NOT NULL,
    pending_minutes integer NOT NULL DEFAULT 0 CHECK (pending_minutes BETWEEN 0 AND 1440),
    every_minutes integer NOT NULL DEFAULT 5 CHECK (every_minutes BETWEEN 1 AND 1440),
    channel_ids uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(channel_ids) <= 20),
    enabled boolean NOT NULL DEFAULT true,
    muted_until timestamptz,
    state text NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'pending', 'firing', 'resolved')),
    level text CHECK (level IN ('warning', 'critical')),
    changing_since timestamptz,
    state_since timestamptz NOT NULL DEFAULT now(),
    last_value double precision,
    last_evaluated_at timestamptz,
    last_error text CHECK (length(last_error) <= 500),
    version integer NOT NULL DEFAULT 1,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, alert_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE,
    CHECK (condition = 'anomaly' OR warning IS NOT NULL OR critical IS NOT NULL),
    CHECK ((condition = 'anomaly') = (sensitivity IS NOT NULL)),
    CHECK ((condition IN ('increase_pct', 'decrease_pct')) = (baseline IS NOT NULL))
);
CREATE INDEX alerts_project ON alerts (org_id, project_id);
COMMENT ON TABLE alerts IS 'Threshold and anomaly rules on a project''s metrics, with their state (ok, pending, firing, resolved).';

CREATE TABLE alert_events (
    org_id uuid NOT NULL,
    alert_id uuid NOT NULL,
    event_id uuid NOT NULL,
    at timestamptz NOT NULL,
    from_state text NOT NULL,
    to_state text NOT NULL,
    level text,
    value double precision,
    baseline_value double precision,
    threshold double precision,
    notified boolean NOT NULL,
    PRIMARY KEY (org_id, alert_id, event_id),
    FOREIGN KEY (org_id, alert_id) REFERENCES alerts (org_id, alert_id) ON DELETE CASCADE
);
CREATE INDEX alert_events_at ON alert_events (org_id, alert_id, at DESC);
COMMENT ON TABLE alert_events IS 'Each alert''s state changes: its history.';

-- Per-tenant recurring work (alerts now; reports later: one more nullable subject column).
-- A worker runs a schedule under its row lock and moves `next_run_at` in the same transaction,
-- so one slot runs once across every worker process.
CREATE TABLE schedules (
    org_id uuid NOT NULL,
    schedule_id uuid NOT NULL,
    project_id uuid NOT NULL,
    alert_id uuid NOT NULL,
    cadence text NOT NULL CHECK (cadence IN ('every', 'daily', 'weekly', 'monthly')),
    every_minutes integer CHECK (every_minutes BETWEEN 1 AND 1440),
    local_time time,
    weekday integer CHECK (weekday BETWEEN 1 AND 7),
    next_run_at timestamptz NOT NULL,
    last_slot timestamptz,
    last_run_at timestamptz,
    PRIMARY KEY (org_id, schedule_id),
    UNIQUE (org_id, alert_id),
    FOREIGN KEY (org_id, alert_id) REFERENCES alerts (org_id, alert_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE,
    CHECK ((cadence = 'every') = (every_minutes IS NOT NULL)),
    CHECK ((cadence = 'every') = (local_time IS NULL)),
    CHECK ((cadence = 'weekly') = (weekday IS NOT NULL))
);
CREATE INDEX schedules_due ON schedules (next_run_at);
COMMENT ON TABLE schedules IS 'When each piece of recurring per-tenant work runs next; slots are computed in the project''s time zone.';

CREATE TABLE notification_deliveries (
    org_id uuid NOT NULL,
    delivery_id uuid NOT NULL,
    channel_id uuid NOT NULL,
    alert_id uuid,
    kind text NOT NULL CHECK (kind IN ('alert', 'test')),
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status integer,
    last_error text CHECK (length(last_error) <= 500),
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, delivery_id),
    FOREIGN KEY (org_id, channel_id) REFERENCES notification_channels (org_id, channel_id) ON DELETE CASCADE
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_deliveries_log ON notification_deliveries (org_id, channel_id, created_at DESC);
COMMENT ON TABLE notification_deliveries IS 'Each notification to a channel: what was sent, the attempts, and how it ended (the delivery log).';

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['notification_channels', 'alerts', 'alert_events', 'schedules',
                             'notification_deliveries'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org())', t);
    END LOOP;
END $$;

-- The worker finds due schedules and deliveries in every organization from these columns
-- alone; each is then run in its organization's scope.
GRANT SELECT (org_id, schedule_id, next_run_at) ON schedules TO beacon_sweeper;
CREATE POLICY sweep_due ON schedules FOR SELECT TO beacon_sweeper USING (true);
GRANT SELECT (org_id, delivery_id, status, next_attempt_at) ON notification_deliveries TO beacon_sweeper;
CREATE POLICY sweep_due ON notification_deliveries FOR SELECT TO beacon_sweeper USING (true);
