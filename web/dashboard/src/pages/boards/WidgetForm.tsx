// Adding a widget: its kind, title, and what it reads. The query it builds is a Stats API body
// the server checks again when the dashboard is saved.
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client";
import { Button, Field, Select, TextArea } from "../../components/ui";
import { useAsync } from "../../lib/useAsync";
import { dimensionLabel, METRICS, PERIODS } from "../dashboard/viewState";
import type { WidgetData } from "./Widget";

const KINDS: { value: WidgetData["kind"]; label: string; w: number; h: number }[] = [
  { value: "metric", label: "Metric with comparison", w: 3, h: 3 },
  { value: "time_series", label: "Time series", w: 6, h: 6 },
  { value: "breakdown", label: "Breakdown table", w: 4, h: 7 },
  { value: "funnel", label: "Funnel", w: 4, h: 6 },
  { value: "retention", label: "Retention table", w: 6, h: 6 },
  { value: "errors", label: "Open errors", w: 4, h: 5 },
  { value: "vitals", label: "Web Vitals p75", w: 4, h: 3 },
  { value: "note", label: "Text note (Markdown)", w: 4, h: 3 },
];

const DIMENSIONS = [
  "event:page",
  "visit:entry_page",
  "visit:exit_page",
  "visit:source",
  "visit:utm_source",
  "visit:utm_medium",
  "visit:utm_campaign",
  "visit:country",
  "visit:device",
  "visit:browser",
  "visit:os",
  "event:name",
];

/** A widget id unlike any of `taken`. */
function newId(taken: string[]): string {
  for (let n = taken.length + 1; ; n++) {
    const id = `w${n}`;
    if (!taken.includes(id)) return id;
  }
}

export function WidgetForm({
  orgId,
  projectId,
  widgets,
  onAdd,
  onCancel,
}: {
  orgId: string;
  projectId: string;
  widgets: WidgetData[];
  onAdd: (widget: WidgetData) => void;
  onCancel: () => void;
}) {
  const [kind, setKind] = useState<WidgetData["kind"]>("metric");
  const [title, setTitle] = useState("");
  const [metric, setMetric] = useState("visitors");
  const [dimension, setDimension] = useState("event:page");
  const [interval, setInterval] = useState("day");
  const [funnel, setFunnel] = useState("");
  const [text, setText] = useState("");
  const [period, setPeriod] = useState("");
  const funnels = useAsync(
    () =>
      kind === "funnel"
        ? unwrap(
            api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/funnels", {
              params: { path: { org_id: orgId, project_id: projectId } },
            }),
          )
        : Promise.resolve([]),
    [kind, orgId, projectId],
  );
  const shape = KINDS.find((k) => k.value === kind) ?? KINDS[0];

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const bottom = Math.max(0, ...widgets.map((w) => w.y + w.h));
    const query =
      kind === "metric"
        ? { metrics: [metric] }
        : kind === "time_series"
          ? { metrics: [metric], dimensions: [`time:${interval}`] }
          : kind === "breakdown"
            ? { metrics: [metric], dimensions: [dimension] }
            : undefined;
    onAdd({
      id: newId(widgets.map((w) => w.id)),
      kind,
      title: title.trim() || shape.label,
      x: 0,
      y: bottom,
      w: shape.w,
      h: shape.h,
      query: query ?? null,
      period: period || null,
      text: kind === "note" ? text : null,
      funnel_id: kind === "funnel" ? funnel || (funnels.data?.[0]?.id ?? null) : null,
    });
  };

  return (
    <form className="card widget-form" onSubmit={submit} aria-label="Add a widget">
      <Select label="Kind" value={kind} onChange={(e) => setKind(e.target.value as WidgetData["kind"])}>
        {KINDS.map((k) => (
          <option key={k.value} value={k.value}>
            {k.label}
          </option>
        ))}
      </Select>
      <Field
        label="Title"
        value={title}
        maxLength={100}
        placeholder={shape.label}
        onChange={(e) => setTitle(e.target.value)}
      />
      {(kind === "metric" || kind === "time_series" || kind === "breakdown") && (
        <Select label="Metric" value={metric} onChange={(e) => setMetric(e.target.value)}>
          {METRICS.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </Select>
      )}
      {kind === "breakdown" && (
        <Select label="Broken down by" value={dimension} onChange={(e) => setDimension(e.target.value)}>
          {DIMENSIONS.map((d) => (
            <option key={d} value={d}>
              {dimensionLabel(d)}
            </option>
          ))}
        </Select>
      )}
      {kind === "time_series" && (
        <Select label="Interval" value={interval} onChange={(e) => setInterval(e.target.value)}>
          {["hour", "day", "week", "month"].map((i) => (
            <option key={i} value={i}>
              {i}
            </option>
          ))}
        </Select>
      )}
      {kind === "funnel" && (
        <Select label="Funnel" value={funnel} onChange={(e) => setFunnel(e.target.value)} required>
          {(funnels.data ?? []).map((f) => (
            <option key={f.id} value={f.id}>
              {f.name}
            </option>
          ))}
        </Select>
      )}
      {kind === "funnel" && funnels.data?.length === 0 && (
        <p className="muted">This project has no funnel yet: make one under Goals &amp; funnels.</p>
      )}
      {kind === "note" && (
        <TextArea
          label="Text (Markdown)"
          value={text}
          maxLength={10000}
          required
          onChange={(e) => setText(e.target.value)}
        />
      )}
      {kind !== "note" && kind !== "errors" && kind !== "retention" && (
        <Select label="Period" value={period} onChange={(e) => setPeriod(e.target.value)}>
          <option value="">The dashboard's</option>
          {PERIODS.filter((p) => p.value !== "realtime").map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </Select>
      )}
      <div className="actions">
        <Button type="submit" disabled={kind === "funnel" && !funnels.data?.length}>
          Add widget
        </Button>
        <Button variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
