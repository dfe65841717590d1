-- Scheduled e-mail reports.
--
-- A report is a project's weekly (Monday) or monthly (the 1st) e-mail, run by the worker from
-- `schedules` like an alert: a slot in the project's time zone, claimed once across every
-- worker. Its subscriptions are members who subscribed themselves and addresses an admin
-- added; each keeps the slot it was last sent for, so a retried job never mails anyone twice.
CREATE TABLE reports (
    org_id uuid NOT NULL,
    report_id uuid NOT NULL,
    project_id uuid NOT NULL,
    cadence text NOT NULL CHECK (cadence IN ('weekly', 'monthly')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, report_id),
    UNIQUE (org_id, project_id, cadence),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE reports IS 'A project''s weekly or monthly e-mail report (its schedule is in schedules).';

CREATE TABLE report_subscriptions (
    org_id uuid NOT NULL,
    subscription_id uuid NOT NULL,
    report_id uuid NOT NULL,
    -- A member (mailed at their account's address while they are a member), or an address
    -- an admin added.
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    email text CHECK (length(email) BETWEEN 3 AND 254),
    skip_empty boolean NOT NULL DEFAULT true,
    added_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_slot timestamptz,
    last_sent_at timestamptz,
    PRIMARY KEY (org_id, subscription_id),
    FOREIGN KEY (org_id, report_id) REFERENCES reports (org_id, report_id) ON DELETE CASCADE,
    CHECK ((user_id IS NULL) <> (email IS NULL))
);
CREATE UNIQUE INDEX report_subscriptions_user ON report_subscriptions (org_id, report_id, user_id)
    WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX report_subscriptions_email ON report_subscriptions (org_id, report_id, lower(email))
    WHERE email IS NOT NULL;
COMMENT ON TABLE report_subscriptions IS 'Who receives a report: members and admin-added addresses, with the slot each was last sent.';

-- A schedule runs an alert or a report.
ALTER TABLE schedules ALTER COLUMN alert_id DROP NOT NULL;
ALTER TABLE schedules
    ADD COLUMN report_id uuid,
    ADD UNIQUE (org_id, report_id),
    ADD FOREIGN KEY (org_id, report_id) REFERENCES reports (org_id, report_id) ON DELETE CASCADE,
    ADD CONSTRAINT schedules_one_subject CHECK ((alert_id IS NULL) <> (report_id IS NULL));
GRANT SELECT (alert_id, report_id) ON schedules TO beacon_sweeper;

-- When an issue last reopened (reports list the issues that regressed in their period).
ALTER TABLE error_issues ADD COLUMN regressed_at timestamptz;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['reports', 'report_subscriptions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org())', t);
    END LOOP;
END $$;
