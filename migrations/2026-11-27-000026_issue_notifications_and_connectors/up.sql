-- Error-issue notifications and the issue-tracker connectors.
--
-- Jira and GitHub Issues are channels of their own kinds: an alert or an error-issue notice
-- sent to one creates a ticket (a later one comments on it), through the same outbox, retries,
-- delivery log and auto-disable as every other channel. Their API token is sealed in
-- `secret_sealed`; what is not secret (Jira's account e-mail, project key and issue type,
-- GitHub's repository, labels, whether resolving comments) is in `settings`.
ALTER TABLE notification_channels DROP CONSTRAINT notification_channels_kind_check;
ALTER TABLE notification_channels ADD CONSTRAINT notification_channels_kind_check
    CHECK (kind IN ('email', 'slack', 'teams', 'discord', 'webhook', 'jira', 'github'));
ALTER TABLE notification_channels DROP CONSTRAINT notification_channels_check1;
ALTER TABLE notification_channels ADD CONSTRAINT notification_channels_secret_check
    CHECK ((kind IN ('webhook', 'jira', 'github')) = (secret_sealed IS NOT NULL));
ALTER TABLE notification_channels
    ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(settings) = 'object' AND length(settings::text) <= 4000);

-- Deliveries: `issue` (a new or regressed error issue, or "create a ticket" from an issue's
-- page) and `comment` (an issue resolved in Beacon, commented on its tickets). A connector's
-- delivery keeps the ticket it created or commented on. A delivery about an error issue goes
-- with the issue (its payload holds the issue's title and culprit).
ALTER TABLE notification_deliveries DROP CONSTRAINT notification_deliveries_kind_check;
ALTER TABLE notification_deliveries ADD CONSTRAINT notification_deliveries_kind_check
    CHECK (kind IN ('alert', 'test', 'issue', 'comment'));
ALTER TABLE notification_deliveries
    ADD COLUMN issue_id uuid,
    ADD COLUMN ticket_key text CHECK (length(ticket_key) <= 200),
    ADD COLUMN ticket_url text CHECK (length(ticket_url) <= 2000),
    ADD FOREIGN KEY (org_id, issue_id) REFERENCES error_issues (org_id, issue_id) ON DELETE CASCADE;
CREATE INDEX notification_deliveries_issue ON notification_deliveries (org_id, issue_id)
    WHERE issue_id IS NOT NULL;
CREATE INDEX notification_deliveries_alert_tickets ON notification_deliveries (org_id, alert_id, channel_id, created_at DESC)
    WHERE ticket_key IS NOT NULL;

-- The tickets made for an error issue: one per connector, shown on the issue's page.
CREATE TABLE issue_tickets (
    org_id uuid NOT NULL,
    issue_id uuid NOT NULL,
    channel_id uuid NOT NULL,
    ticket_key text NOT NULL CHECK (length(ticket_key) BETWEEN 1 AND 200),
    ticket_url text NOT NULL CHECK (length(ticket_url) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, issue_id, channel_id),
    FOREIGN KEY (org_id, issue_id) REFERENCES error_issues (org_id, issue_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, channel_id) REFERENCES notification_channels (org_id, channel_id) ON DELETE CASCADE
);
COMMENT ON TABLE issue_tickets IS 'Jira and GitHub tickets created for error issues, one per issue and connector.';

-- Per project: which channels hear of new and regressed error issues, with an hourly cap so a
-- bad deploy cannot flood them (what the cap holds back is counted and said in the next one).
CREATE TABLE issue_notifications (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    on_new boolean NOT NULL DEFAULT true,
    on_regression boolean NOT NULL DEFAULT true,
    channel_ids uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(channel_ids) <= 20),
    hourly_cap integer NOT NULL DEFAULT 20 CHECK (hourly_cap BETWEEN 1 AND 1000),
    window_start timestamptz,
    sent_in_window integer NOT NULL DEFAULT 0,
    held_back integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, project_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE issue_notifications IS 'Per project: the channels told of new and regressed error issues, and the hourly cap.';

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['issue_tickets', 'issue_notifications'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org())', t);
    END LOOP;
END $$;
