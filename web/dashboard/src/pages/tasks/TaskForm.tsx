// The form that makes or changes a task: title, description (Markdown), assignee, due date,
// labels (comma-separated) and priority.
import { type FormEvent, useState } from "react";
import type { Schemas } from "../../api/client";
import { Button, Field, Select } from "../../components/ui";

type Task = Schemas["TaskOut"];
type Member = Schemas["AssigneeOut"];
export type Priority = Schemas["PriorityDto"];

/** What the form edits. */
export interface TaskDraft {
  title: string;
  description: string;
  assignee_id: string;
  due_on: string;
  labels: string;
  priority: Priority;
}

export const PRIORITIES: Priority[] = ["none", "low", "medium", "high", "urgent"];

export function draftOf(task?: Task, title = ""): TaskDraft {
  return {
    title: task?.title ?? title,
    description: task?.description ?? "",
    assignee_id: task?.assignee_id ?? "",
    due_on: task?.due_on ?? "",
    labels: task?.labels.join(", ") ?? "",
    priority: (task?.priority as Priority | undefined) ?? "none",
  };
}

/** The labels typed, trimmed, empty ones dropped. */
export function labelsOf(text: string): string[] {
  return text
    .split(",")
    .map((label) => label.trim())
    .filter(Boolean);
}

export function TaskForm({
  initial,
  members,
  submitLabel,
  busy,
  onSubmit,
  onCancel,
}: {
  initial: TaskDraft;
  members: Member[];
  submitLabel: string;
  busy: boolean;
  onSubmit: (draft: TaskDraft) => void;
  onCancel?: () => void;
}) {
  const [draft, setDraft] = useState(initial);
  const set = <K extends keyof TaskDraft>(key: K, value: TaskDraft[K]) => setDraft({ ...draft, [key]: value });
  return (
    <form
      className="task-form"
      aria-label={submitLabel}
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        onSubmit(draft);
      }}
    >
      <Field
        label="Title"
        value={draft.title}
        maxLength={200}
        required
        onChange={(e) => set("title", e.target.value)}
      />
      <div className="field">
        <label>
          Description (Markdown)
          <textarea value={draft.description} maxLength={10000} onChange={(e) => set("description", e.target.value)} />
        </label>
      </div>
      <div className="form-row">
        <Select label="Assignee" value={draft.assignee_id} onChange={(e) => set("assignee_id", e.target.value)}>
          <option value="">Nobody</option>
          {members.map((m) => (
            <option key={m.user_id} value={m.user_id}>
              {m.email}
            </option>
          ))}
        </Select>
        <Field label="Due" type="date" value={draft.due_on} onChange={(e) => set("due_on", e.target.value)} />
        <Select label="Priority" value={draft.priority} onChange={(e) => set("priority", e.target.value as Priority)}>
          {PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {p === "none" ? "No priority" : p[0]?.toUpperCase() + p.slice(1)}
            </option>
          ))}
        </Select>
      </div>
      <Field
        label="Labels"
        hint="Comma-separated, up to 10"
        value={draft.labels}
        onChange={(e) => set("labels", e.target.value)}
      />
      <div className="actions">
        <Button type="submit" busy={busy}>
          {submitLabel}
        </Button>
        {onCancel && (
          <Button variant="ghost" onClick={onCancel}>
            Cancel
          </Button>
        )}
      </div>
    </form>
  );
}
