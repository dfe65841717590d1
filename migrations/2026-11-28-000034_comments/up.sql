-- Comment threads: one per thing a team discusses (a dashboard, a widget, an error issue, a
-- funnel, an annotation), with its comments in Markdown. A thread is resolved or reopened as a
-- whole. A comment keeps its author while they are a member; one who left shows as a former
-- member (the comment stays: the discussion is the team's).
CREATE TABLE comment_threads (
    org_id uuid NOT NULL,
    thread_id uuid NOT NULL,
    project_id uuid NOT NULL,
    target_kind text NOT NULL CHECK (target_kind IN ('dashboard', 'widget', 'issue', 'funnel', 'annotation')),
    target_id text NOT NULL CHECK (length(target_id) BETWEEN 1 AND 100),
    resolved_at timestamptz,
    resolved_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, thread_id),
    UNIQUE (org_id, project_id, target_kind, target_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE comment_threads IS 'A discussion about one dashboard, widget, error issue, funnel or annotation of a project.';
COMMENT ON COLUMN comment_threads.target_id IS 'The target''s id; a widget is <dashboard id>/<widget id>.';

ALTER TABLE comment_threads ENABLE ROW LEVEL SECURITY;
ALTER TABLE comment_threads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON comment_threads
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

CREATE TABLE comments (
    org_id uuid NOT NULL,
    comment_id uuid NOT NULL,
    thread_id uuid NOT NULL,
    author_id uuid REFERENCES users (id) ON DELETE SET NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    edited_at timestamptz,
    PRIMARY KEY (org_id, comment_id),
    FOREIGN KEY (org_id, thread_id) REFERENCES comment_threads (org_id, thread_id) ON DELETE CASCADE
);
COMMENT ON TABLE comments IS 'Comments of a thread, in Markdown (rendered as text elements, never as HTML).';
CREATE INDEX comments_by_thread ON comments (org_id, thread_id, created_at);

ALTER TABLE comments ENABLE ROW LEVEL SECURITY;
ALTER TABLE comments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON comments
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());
