-- The task board: a project's work, often made from an error issue, in columns (To do,
-- In progress, Done and the team's own). A task's place is its column and its position in it;
-- moving a task renumbers the column it lands in, under a lock on the project's columns, so
-- two people dragging at once never leave two tasks in one place.
CREATE TABLE task_columns (
    org_id uuid NOT NULL,
    column_id uuid NOT NULL,
    project_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    role text NOT NULL CHECK (role IN ('todo', 'in_progress', 'done', 'custom')),
    position integer NOT NULL,
    PRIMARY KEY (org_id, column_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE
);
COMMENT ON TABLE task_columns IS 'The columns of a project''s task board; To do, In progress and Done exist once each.';
CREATE UNIQUE INDEX task_columns_one_per_role ON task_columns (org_id, project_id, role) WHERE role <> 'custom';

ALTER TABLE task_columns ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_columns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON task_columns
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

CREATE TABLE tasks (
    org_id uuid NOT NULL,
    task_id uuid NOT NULL,
    project_id uuid NOT NULL,
    column_id uuid NOT NULL,
    position integer NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    assignee_id uuid,
    due_on date,
    labels text[] NOT NULL DEFAULT '{}' CHECK (cardinality(labels) <= 10),
    priority text NOT NULL DEFAULT 'none' CHECK (priority IN ('none', 'low', 'medium', 'high', 'urgent')),
    issue_id uuid,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    due_reminded_on date,
    PRIMARY KEY (org_id, task_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, project_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, column_id) REFERENCES task_columns (org_id, column_id),
    FOREIGN KEY (org_id, assignee_id) REFERENCES memberships (org_id, user_id) ON DELETE SET NULL (assignee_id),
    FOREIGN KEY (org_id, issue_id) REFERENCES error_issues (org_id, issue_id) ON DELETE SET NULL (issue_id)
);
COMMENT ON TABLE tasks IS 'Tasks of a project''s board; issue_id links one back to the error issue it tracks (one task per issue).';
COMMENT ON COLUMN tasks.due_reminded_on IS 'The due date its assignee was last reminded of (a changed date is reminded again).';
CREATE INDEX tasks_by_column ON tasks (org_id, column_id, position);
CREATE UNIQUE INDEX tasks_one_per_issue ON tasks (org_id, issue_id) WHERE issue_id IS NOT NULL;
CREATE INDEX tasks_due ON tasks (due_on) WHERE due_on IS NOT NULL AND assignee_id IS NOT NULL;

ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tasks
    USING (org_id = beacon_current_org()) WITH CHECK (org_id = beacon_current_org());

-- The hourly due-soon reminder finds, as beacon_sweeper, only which organizations have an
-- assigned task due that was not reminded of; it reminds in each organization's own scope.
GRANT SELECT (org_id, due_on, assignee_id, due_reminded_on) ON tasks TO beacon_sweeper;
CREATE POLICY sweep_due ON tasks FOR SELECT TO beacon_sweeper USING (true);
