-- Notifications: what a member is told about (a mention, a reply in a thread they took part
-- in, a task assigned to them or due soon, an issue they follow changing state), kept in their
-- in-app inbox and, when their preferences ask for it, e-mailed in one batch per few minutes.
-- Both tables hang off the membership: a member who leaves has no inbox and no preferences
-- left, and is never notified again.
CREATE TABLE notifications (
    org_id uuid NOT NULL,
    notification_id uuid NOT NULL,
    user_id uuid NOT NULL,
    project_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('mention', 'reply', 'assignment', 'due_soon', 'issue_state')),
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    target_kind text NOT NULL CHECK (target_kind IN ('dashboard', 'widget', 'issue', 'funnel', 'annotation', 'task')),
    target_id text NOT NULL CHECK (length(target_id) BETWEEN 1 AND 100),
    summary text NOT NULL CHECK (length(summary) BETWEEN 1 AND 300),
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz,
    inbox boolean NOT NULL DEFAULT true,
    email_pending boolean NOT NULL DEFAULT false,
    PRIMARY KEY (org_id, notification_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE notifications IS 'A member''s notifications: inbox rows are shown in their in-app inbox; email_pending rows go out in the next batched e-mail.';
COMMENT ON COLUMN notifications.summary IS 'One line shown in the inbox and the e-mail (a comment''s first 200 characters, a task''s title).';
CREATE INDEX notifications_inbox ON notifications (org_id, user_id, created_at DESC) WHERE inbox;
CREATE INDEX notifications_email_pending ON notifications (org_id, user_id) WHERE email_pending;

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

CREATE TABLE notification_preferences (
    org_id uuid NOT NULL,
    user_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('mention', 'reply', 'assignment', 'issue_state')),
    inbox boolean NOT NULL,
    email boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id, kind),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
COMMENT ON TABLE notification_preferences IS 'A member''s choices per kind of notification; a kind with no row has the defaults.';

ALTER TABLE notification_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_preferences FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_preferences
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
