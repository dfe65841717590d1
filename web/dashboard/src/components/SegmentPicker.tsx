// Saved segments in a filter bar: choose one (it becomes the `segment` filter), save the
// current filters as one (personal, or shared with the organization), delete one you may.
import { type FormEvent, useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import type { ViewFilter } from "../lib/stats";
import { useAsync } from "../lib/useAsync";
import { Button, ErrorNote, useAction } from "./ui";

export type Segment = Schemas["SegmentOut"];

/** The project's segments the caller sees. */
export function useSegments(orgId: string, projectId: string) {
  return useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/segments", {
          params: { path: { org_id: orgId, project_id: projectId } },
        }),
      ),
    [orgId, projectId],
  );
}

export function SegmentPicker({
  orgId,
  projectId,
  filters,
  canWrite,
  onChange,
}: {
  orgId: string;
  projectId: string;
  /** The view's filters (a `segment` one among them when a segment is chosen). */
  filters: ViewFilter[];
  canWrite: boolean;
  /** The view's new filters. */
  onChange: (filters: ViewFilter[]) => void;
}) {
  const segments = useSegments(orgId, projectId);
  const chosen = filters.find((f) => f.dimension === "segment")?.value ?? "";
  const plain = filters.filter((f) => f.dimension !== "segment");
  const [saving, setSaving] = useState(false);
  const [name, setName] = useState("");
  const [shared, setShared] = useState(false);
  const path = { org_id: orgId, project_id: projectId };
  const save = useAction(async () => {
    const made = await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/segments", {
        params: { path },
        body: { name, shared, filters: plain.map((f) => ["is", f.dimension, [f.value]]) },
      }),
    );
    setSaving(false);
    setName("");
    segments.reload();
    onChange([{ dimension: "segment", value: made.id }]);
  });
  const remove = useAction(async () => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/segments/{segment_id}", {
        params: { path: { ...path, segment_id: chosen } },
      }),
    );
    segments.reload();
    onChange(plain);
  });
  const current = segments.data?.find((s) => s.id === chosen);
  return (
    <div className="segment-picker">
      <label className="period">
        <span className="visually-hidden">Segment</span>
        <select
          aria-label="Segment"
          value={chosen}
          onChange={(event) => {
            const value = event.target.value;
            onChange(value ? [...plain, { dimension: "segment", value }] : plain);
          }}
        >
          <option value="">All visitors</option>
          {chosen && !current && <option value={chosen}>Segment not found</option>}
          {(segments.data ?? []).map((segment) => (
            <option key={segment.id} value={segment.id}>
              {segment.name}
              {segment.shared ? " (shared)" : ""}
            </option>
          ))}
        </select>
      </label>
      {canWrite && plain.length > 0 && !saving && (
        <Button variant="secondary" onClick={() => setSaving(true)}>
          Save filters as segment
        </Button>
      )}
      {canWrite && current?.editable && (
        <Button variant="ghost" busy={remove.busy} onClick={() => remove.run()}>
          Delete segment
        </Button>
      )}
      {saving && (
        <form
          className="inline-form"
          aria-label="Save segment"
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            save.run();
          }}
        >
          <label>
            <span className="visually-hidden">Segment name</span>
            <input
              placeholder="Segment name"
              value={name}
              maxLength={100}
              required
              onChange={(e) => setName(e.target.value)}
            />
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} /> Share with the
            organization
          </label>
          <Button type="submit" busy={save.busy}>
            Save segment
          </Button>
          <Button variant="ghost" onClick={() => setSaving(false)}>
            Cancel
          </Button>
        </form>
      )}
      <ErrorNote error={save.error ?? remove.error ?? segments.error} />
    </div>
  );
}
