// The issue's task on the project's task board: where it is (with a link), or a form that
// makes one from the issue (its title prefilled). Resolving the issue moves the task to Done;
// dropping the task in Done resolves the issue.
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { Button, Card, ErrorNote, useAction } from "../../components/ui";
import { Link } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";
import { draftOf, labelsOf, type TaskDraft, TaskForm } from "../tasks/TaskForm";

export function IssueTask({
  orgId,
  projectId,
  issueId,
  title,
  editable,
  version,
}: {
  orgId: string;
  projectId: string;
  issueId: string;
  title: string;
  editable: boolean;
  /** Changes when the issue's state changed (its task may have moved). */
  version: string;
}) {
  const path = { org_id: orgId, project_id: projectId };
  const board = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/task-board", {
          params: { path: { org_id: orgId, project_id: projectId } },
        }),
      ),
    [orgId, projectId, version],
  );
  const [making, setMaking] = useState(false);
  const create = useAction(async (draft: TaskDraft) => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/tasks", {
        params: { path },
        body: {
          title: draft.title,
          description: draft.description,
          assignee_id: draft.assignee_id || null,
          due_on: draft.due_on || null,
          labels: labelsOf(draft.labels),
          priority: draft.priority,
          issue_id: issueId,
        },
      }),
    );
    setMaking(false);
    board.reload();
  });
  if (!board.data) return <ErrorNote error={board.error} />;
  const column = board.data.columns.find((c) => c.tasks.some((t) => t.issue_id === issueId));
  const task = column?.tasks.find((t) => t.issue_id === issueId);
  const tasks = `/orgs/${orgId}/projects/${projectId}/tasks`;
  return (
    <Card title="Task">
      {task && column ? (
        <p>
          <Link to={`${tasks}?task=${task.id}`}>{task.title}</Link> is in <strong>{column.name}</strong>
          {task.assignee_email && <>, assigned to {task.assignee_email}</>}.
        </p>
      ) : making ? (
        <TaskForm
          initial={draftOf(undefined, title.slice(0, 200))}
          members={board.data.members}
          submitLabel="Create task"
          busy={create.busy}
          onSubmit={(draft) => create.run(draft)}
          onCancel={() => setMaking(false)}
        />
      ) : (
        <>
          <p className="muted">No task tracks this issue.</p>
          {editable && <Button onClick={() => setMaking(true)}>Create task from issue</Button>}
        </>
      )}
      <ErrorNote error={create.error} />
    </Card>
  );
}
