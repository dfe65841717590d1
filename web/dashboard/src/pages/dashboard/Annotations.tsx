// The project's annotations in the period on screen: listed under the graph (the graph marks
// them with dotted lines), added by members ("v2.3 deployed" at a moment), deleted by their
// author or an admin.
import { type FormEvent, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { CommentThread } from "../../components/CommentThread";
import { Button, ErrorNote, useAction } from "../../components/ui";

export type Annotation = Schemas["AnnotationOut"];

/** Now as a `datetime-local` value (the browser's time). */
function nowLocal(): string {
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 16);
}

export function Annotations({
  orgId,
  projectId,
  annotations,
  canWrite,
  onChange,
}: {
  orgId: string;
  projectId: string;
  annotations: Annotation[];
  canWrite: boolean;
  onChange: () => void;
}) {
  const [adding, setAdding] = useState(false);
  // The annotation whose comment thread is open.
  const [discussing, setDiscussing] = useState<string | null>(null);
  const [at, setAt] = useState(nowLocal);
  const [text, setText] = useState("");
  const path = { org_id: orgId, project_id: projectId };
  const add = useAction(async () => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/annotations", {
        params: { path },
        body: { at: new Date(at).toISOString(), text },
      }),
    );
    setAdding(false);
    setText("");
    onChange();
  });
  const remove = useAction(async (annotation: Annotation) => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/annotations/{annotation_id}", {
        params: { path: { ...path, annotation_id: annotation.id } },
      }),
    );
    onChange();
  });
  return (
    <section className="annotations" aria-label="Annotations">
      {annotations.length > 0 && (
        <ul className="annotation-list">
          {annotations.map((annotation) => (
            <li key={annotation.id}>
              <time dateTime={annotation.at}>{new Date(annotation.at).toLocaleString()}</time> {annotation.text}{" "}
              <button
                type="button"
                className="link-button"
                aria-label={`Comments on annotation ${annotation.text}`}
                aria-expanded={discussing === annotation.id}
                onClick={() => setDiscussing(discussing === annotation.id ? null : annotation.id)}
              >
                💬
              </button>
              {annotation.editable && (
                <button
                  type="button"
                  className="link-button"
                  aria-label={`Delete annotation ${annotation.text}`}
                  onClick={() => remove.run(annotation)}
                >
                  ×
                </button>
              )}
              {discussing === annotation.id && (
                <CommentThread
                  orgId={orgId}
                  projectId={projectId}
                  targetKind="annotation"
                  targetId={annotation.id}
                  canWrite={canWrite}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      {canWrite && !adding && (
        <Button variant="ghost" onClick={() => setAdding(true)}>
          Annotate
        </Button>
      )}
      {adding && (
        <form
          className="inline-form"
          aria-label="New annotation"
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            add.run();
          }}
        >
          <label>
            <span className="visually-hidden">When</span>
            <input type="datetime-local" value={at} required onChange={(e) => setAt(e.target.value)} />
          </label>
          <label>
            <span className="visually-hidden">Note</span>
            <input
              placeholder="v2.3 deployed"
              value={text}
              maxLength={280}
              required
              onChange={(e) => setText(e.target.value)}
            />
          </label>
          <Button type="submit" busy={add.busy}>
            Add annotation
          </Button>
          <Button variant="ghost" onClick={() => setAdding(false)}>
            Cancel
          </Button>
        </form>
      )}
      <ErrorNote error={add.error ?? remove.error} />
    </section>
  );
}
