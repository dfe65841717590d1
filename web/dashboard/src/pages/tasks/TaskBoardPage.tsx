// `/orgs/:org/projects/:project/tasks`: the project's task board. Columns (To do, In progress,
// Done and the team's own) of task cards, dragged between and within columns (the server keeps
// the order; a "Move to" menu does the same from the keyboard); filters by assignee and label;
// overdue tasks flagged. Dropping a task that tracks an error issue in Done resolves the issue.
// `?task=<id>` opens that task (the inbox links there).
import { type DragEvent, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, ErrorNote, Field, Loading, Select, useAction } from "../../components/ui";
import { Markdown } from "../../lib/markdown";
import { canWrite } from "../../lib/roles";
import { Link, useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";
import { draftOf, labelsOf, type TaskDraft, TaskForm } from "./TaskForm";

type Board = Schemas["BoardOut"];
type Column = Schemas["ColumnOut"];
type Task = Schemas["TaskOut"];

/**
 * The card a drop at `y` in `list` lands before (its task id), or `null` for the end. The
 * server is told the neighbour, not a position, so a drop is right on a filtered board too.
 */
function dropBefore(list: HTMLElement, y: number, dragged: string): string | null {
  const cards = [...list.querySelectorAll<HTMLElement>("[data-task]")].filter((c) => c.dataset.task !== dragged);
  const card = cards.find((c) => {
    const box = c.getBoundingClientRect();
    return y < box.top + box.height / 2;
  });
  return card?.dataset.task ?? null;
}

function TaskCard({
  task,
  columns,
  base,
  editable,
  onOpen,
  onMove,
}: {
  task: Task;
  columns: Column[];
  base: string;
  editable: boolean;
  onOpen: () => void;
  onMove: (column: string) => void;
}) {
  return (
    <li
      className={`task-card priority-${task.priority} ${task.overdue ? "overdue" : ""}`}
      data-task={task.id}
      draggable={editable}
      onDragStart={(event) => {
        event.dataTransfer.setData("text/x-beacon-task", task.id);
        event.dataTransfer.effectAllowed = "move";
      }}
    >
      <button type="button" className="task-title link-button" onClick={onOpen}>
        {task.title}
      </button>
      <p className="task-meta">
        {task.assignee_email && <span>{task.assignee_email}</span>}
        {task.due_on && (
          <span className={task.overdue ? "overdue-note" : undefined}>
            {task.overdue ? "Overdue: " : "Due "}
            <time dateTime={task.due_on}>{task.due_on}</time>
          </span>
        )}
        {task.priority !== "none" && <span className="chip">{task.priority}</span>}
        {task.labels.map((label) => (
          <span key={label} className="chip">
            {label}
          </span>
        ))}
        {task.issue_id && <Link to={`${base}/errors/${task.issue_id}`}>Error issue</Link>}
      </p>
      {editable && (
        <label className="task-move">
          <span className="visually-hidden">Move “{task.title}” to</span>
          <select value={task.column_id} onChange={(e) => onMove(e.target.value)}>
            {columns.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
      )}
    </li>
  );
}

function ColumnHead({
  column,
  editable,
  onRename,
  onDelete,
}: {
  column: Column;
  editable: boolean;
  onRename: (name: string) => void;
  onDelete: () => void;
}) {
  const [name, setName] = useState<string | null>(null);
  if (name !== null)
    return (
      <form
        className="column-rename"
        onSubmit={(event) => {
          event.preventDefault();
          onRename(name);
          setName(null);
        }}
      >
        <Field label="Column name" value={name} maxLength={40} required onChange={(e) => setName(e.target.value)} />
        <Button type="submit">Rename</Button>
        <Button variant="ghost" onClick={() => setName(null)}>
          Cancel
        </Button>
      </form>
    );
  return (
    <header className="column-head">
      <h2>
        {column.name} <span className="muted">{column.tasks.length}</span>
      </h2>
      {editable && (
        <span className="row-actions">
          <Button variant="ghost" aria-label={`Rename column ${column.name}`} onClick={() => setName(column.name)}>
            Rename
          </Button>
          {column.role === "custom" && (
            <Button variant="ghost" aria-label={`Delete column ${column.name}`} onClick={onDelete}>
              Delete
            </Button>
          )}
        </span>
      )}
    </header>
  );
}

export function TaskBoardPage() {
  const { project, role } = useProject();
  const { search, navigate, path: here } = useRouter();
  const editable = canWrite(role);
  const path = { org_id: project.org_id, project_id: project.id };
  const base = `/orgs/${project.org_id}/projects/${project.id}`;
  const [assignee, setAssignee] = useState("");
  const [label, setLabel] = useState("");
  const [adding, setAdding] = useState(false);
  const [columnName, setColumnName] = useState("");
  const board = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/task-board", {
          params: {
            path: { org_id: project.org_id, project_id: project.id },
            query: { assignee_id: assignee || undefined, label: label || undefined },
          },
        }),
      ),
    [project.org_id, project.id, assignee, label],
  );
  const [moved, setMoved] = useState<Board | null>(null);
  const shown = moved ?? board.data;
  const openId = search.get("task");
  const open = shown?.columns.flatMap((c) => c.tasks).find((t) => t.id === openId);
  const setOpen = (id: string | null) => navigate(id ? `${here}?task=${id}` : here, { replace: true });

  const body = (draft: TaskDraft) => ({
    title: draft.title,
    description: draft.description,
    assignee_id: draft.assignee_id || null,
    due_on: draft.due_on || null,
    labels: labelsOf(draft.labels),
    priority: draft.priority,
  });
  const create = useAction(async (draft: TaskDraft) => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/tasks", { params: { path }, body: body(draft) }),
    );
    setAdding(false);
    board.reload();
  });
  const update = useAction(async (task: Task, draft: TaskDraft) => {
    await unwrap(
      api.PATCH("/api/v1/orgs/{org_id}/projects/{project_id}/tasks/{task_id}", {
        params: { path: { ...path, task_id: task.id } },
        body: body(draft),
      }),
    );
    setOpen(null);
    board.reload();
  });
  const remove = useAction(async (task: Task) => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/tasks/{task_id}", {
        params: { path: { ...path, task_id: task.id } },
      }),
    );
    setOpen(null);
    board.reload();
  });
  const place = useAction(async (taskId: string, columnId: string, before: string | null) => {
    if (shown) {
      // Show the move at once; the board read after it is the truth.
      const task = shown.columns.flatMap((c) => c.tasks).find((t) => t.id === taskId);
      if (task) {
        const columns = shown.columns.map((c) => ({ ...c, tasks: c.tasks.filter((t) => t.id !== taskId) }));
        const target = columns.find((c) => c.id === columnId);
        const at = target?.tasks.findIndex((t) => t.id === before) ?? -1;
        target?.tasks.splice(at === -1 ? target.tasks.length : at, 0, { ...task, column_id: columnId });
        setMoved({ ...shown, columns });
      }
    }
    try {
      await unwrap(
        api.PUT("/api/v1/orgs/{org_id}/projects/{project_id}/tasks/{task_id}/place", {
          params: { path: { ...path, task_id: taskId } },
          body: { column_id: columnId, before_task_id: before },
        }),
      );
    } finally {
      board.reload();
      setMoved(null);
    }
  });
  const addColumn = useAction(async () => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/task-columns", {
        params: { path },
        body: { name: columnName },
      }),
    );
    setColumnName("");
    board.reload();
  });
  const renameColumn = useAction(async (column: Column, name: string) => {
    await unwrap(
      api.PATCH("/api/v1/orgs/{org_id}/projects/{project_id}/task-columns/{column_id}", {
        params: { path: { ...path, column_id: column.id } },
        body: { name },
      }),
    );
    board.reload();
  });
  const deleteColumn = useAction(async (column: Column) => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/task-columns/{column_id}", {
        params: { path: { ...path, column_id: column.id } },
      }),
    );
    board.reload();
  });

  const onDrop = (column: Column) => (event: DragEvent<HTMLOListElement>) => {
    event.preventDefault();
    event.currentTarget.classList.remove("drop-target");
    const taskId = event.dataTransfer.getData("text/x-beacon-task");
    if (!taskId) return;
    void place.run(taskId, column.id, dropBefore(event.currentTarget, event.clientY, taskId));
  };

  if (board.error && !shown) return <ErrorNote error={board.error} />;
  if (!shown) return <Loading />;
  const error =
    board.error ??
    create.error ??
    update.error ??
    remove.error ??
    place.error ??
    addColumn.error ??
    renameColumn.error ??
    deleteColumn.error;
  return (
    <>
      <Card
        title="Task board"
        actions={
          editable && (
            <Button onClick={() => setAdding(!adding)} aria-expanded={adding}>
              New task
            </Button>
          )
        }
      >
        <div className="form-row board-filters">
          <Select label="Assignee" value={assignee} onChange={(e) => setAssignee(e.target.value)}>
            <option value="">Everyone</option>
            {shown.members.map((m) => (
              <option key={m.user_id} value={m.user_id}>
                {m.email}
              </option>
            ))}
          </Select>
          <Select label="Label" value={label} onChange={(e) => setLabel(e.target.value)}>
            <option value="">Any label</option>
            {shown.labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </Select>
        </div>
        {adding && (
          <TaskForm
            initial={draftOf()}
            members={shown.members}
            submitLabel="Add task"
            busy={create.busy}
            onSubmit={(draft) => create.run(draft)}
            onCancel={() => setAdding(false)}
          />
        )}
        <ErrorNote error={error} />
      </Card>
      {open && (
        <Card title={`Task: ${open.title}`} className="task-detail">
          {open.description && <Markdown source={open.description} />}
          {editable ? (
            <TaskForm
              key={open.id}
              initial={draftOf(open)}
              members={shown.members}
              submitLabel="Save task"
              busy={update.busy}
              onSubmit={(draft) => update.run(open, draft)}
              onCancel={() => setOpen(null)}
            />
          ) : (
            <Button variant="ghost" onClick={() => setOpen(null)}>
              Close
            </Button>
          )}
          {editable && (
            <Button variant="danger" busy={remove.busy} onClick={() => remove.run(open)}>
              Delete task
            </Button>
          )}
        </Card>
      )}
      <div className="task-board">
        {shown.columns.map((column) => (
          <section key={column.id} className={`task-column column-${column.role}`} aria-label={column.name}>
            <ColumnHead
              column={column}
              editable={editable}
              onRename={(name) => renameColumn.run(column, name)}
              onDelete={() => deleteColumn.run(column)}
            />
            <ol
              className="task-list"
              onDragOver={(event) => {
                if (!editable) return;
                event.preventDefault();
                event.currentTarget.classList.add("drop-target");
              }}
              onDragLeave={(event) => event.currentTarget.classList.remove("drop-target")}
              onDrop={onDrop(column)}
            >
              {column.tasks.map((task) => (
                <TaskCard
                  key={task.id}
                  task={task}
                  columns={shown.columns}
                  base={base}
                  editable={editable}
                  onOpen={() => setOpen(task.id)}
                  onMove={(to) => place.run(task.id, to, null)}
                />
              ))}
            </ol>
          </section>
        ))}
        {editable && (
          <form
            className="task-column add-column"
            aria-label="Add a column"
            onSubmit={(event) => {
              event.preventDefault();
              addColumn.run();
            }}
          >
            <Field
              label="New column"
              value={columnName}
              maxLength={40}
              required
              onChange={(e) => setColumnName(e.target.value)}
            />
            <Button type="submit" variant="secondary" busy={addColumn.busy}>
              Add column
            </Button>
          </form>
        )}
      </div>
    </>
  );
}
