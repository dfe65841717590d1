// A comment thread about one thing of a project (a dashboard, a widget, an error issue, a
// funnel, an annotation): its comments rendered as Markdown elements (never HTML), a box to
// add one (members; `@` completes a member to mention, who is then notified), edit and delete
// one's own ("edited" shown), and resolve or reopen.
import { type FormEvent, useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { Markdown } from "../lib/markdown";
import { useAsync } from "../lib/useAsync";
import { MentionBox } from "./MentionBox";
import { Button, ErrorNote, Loading, useAction } from "./ui";

type Target = Schemas["TargetKindDto"];
type Comment = Schemas["CommentOut"];

export function CommentThread({
  orgId,
  projectId,
  targetKind,
  targetId,
  canWrite,
}: {
  orgId: string;
  projectId: string;
  targetKind: Target;
  targetId: string;
  canWrite: boolean;
}) {
  const path = { org_id: orgId, project_id: projectId };
  const thread = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/comments", {
          params: {
            path: { org_id: orgId, project_id: projectId },
            query: { target_kind: targetKind, target_id: targetId },
          },
        }),
      ),
    [orgId, projectId, targetKind, targetId],
  );
  const [body, setBody] = useState("");
  const [editing, setEditing] = useState<{ id: string; body: string } | null>(null);
  const add = useAction(async () => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/comments", {
        params: { path },
        body: { target_kind: targetKind, target_id: targetId, body },
      }),
    );
    setBody("");
    thread.reload();
  });
  const save = useAction(async () => {
    if (!editing) return;
    await unwrap(
      api.PATCH("/api/v1/orgs/{org_id}/projects/{project_id}/comments/{comment_id}", {
        params: { path: { ...path, comment_id: editing.id } },
        body: { body: editing.body },
      }),
    );
    setEditing(null);
    thread.reload();
  });
  const remove = useAction(async (comment: Comment) => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/comments/{comment_id}", {
        params: { path: { ...path, comment_id: comment.id } },
      }),
    );
    thread.reload();
  });
  const resolve = useAction(async (resolved: boolean) => {
    const id = thread.data?.thread_id;
    if (!id) return;
    await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/projects/{project_id}/comment-threads/{thread_id}/resolution", {
        params: { path: { ...path, thread_id: id } },
        body: { resolved },
      }),
    );
    thread.reload();
  });
  if (thread.error) return <ErrorNote error={thread.error} />;
  if (!thread.data) return <Loading />;
  const resolved = Boolean(thread.data.resolved_at);
  return (
    <div className="comment-thread">
      {resolved && <p className="muted">This thread is resolved.</p>}
      {thread.data.comments.length === 0 && <p className="muted">No comments yet.</p>}
      <ol className="comments">
        {thread.data.comments.map((comment) => (
          <li key={comment.id} className="comment">
            <p className="comment-meta">
              <strong>{comment.author_email ?? "A former member"}</strong>{" "}
              <time dateTime={comment.created_at}>{new Date(comment.created_at).toLocaleString()}</time>
              {comment.edited_at && <span className="muted"> · edited</span>}
            </p>
            {editing?.id === comment.id ? (
              <form
                aria-label="Edit comment"
                onSubmit={(event: FormEvent) => {
                  event.preventDefault();
                  save.run();
                }}
              >
                <label>
                  <span className="visually-hidden">Comment</span>
                  <textarea
                    value={editing.body}
                    maxLength={10000}
                    required
                    onChange={(e) => setEditing({ id: comment.id, body: e.target.value })}
                  />
                </label>
                <Button type="submit" busy={save.busy}>
                  Save
                </Button>
                <Button variant="ghost" onClick={() => setEditing(null)}>
                  Cancel
                </Button>
              </form>
            ) : (
              <Markdown source={comment.body} />
            )}
            {(comment.editable || comment.deletable) && editing?.id !== comment.id && (
              <p className="row-actions">
                {comment.editable && (
                  <Button variant="ghost" onClick={() => setEditing({ id: comment.id, body: comment.body })}>
                    Edit
                  </Button>
                )}
                {comment.deletable && (
                  <Button variant="ghost" onClick={() => remove.run(comment)}>
                    Delete
                  </Button>
                )}
              </p>
            )}
          </li>
        ))}
      </ol>
      {canWrite && (
        <form
          className="comment-form"
          aria-label="New comment"
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            add.run();
          }}
        >
          <MentionBox
            orgId={orgId}
            label="Comment (Markdown)"
            placeholder="Write a comment (Markdown); @ mentions a member"
            value={body}
            onChange={setBody}
          />
          <div className="actions">
            <Button type="submit" busy={add.busy}>
              Comment
            </Button>
            {thread.data.thread_id && (
              <Button variant="secondary" busy={resolve.busy} onClick={() => resolve.run(!resolved)}>
                {resolved ? "Reopen thread" : "Resolve thread"}
              </Button>
            )}
          </div>
        </form>
      )}
      <ErrorNote error={add.error ?? save.error ?? remove.error ?? resolve.error} />
    </div>
  );
}
