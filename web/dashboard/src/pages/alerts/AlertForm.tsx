// The form that writes an alert rule, with a preview: the value the rule compares over its
// last 24 windows and the thresholds, measured by the server without storing anything.
import { useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { type Guide, LineChart } from "../../components/LineChart";
import { useProject } from "../../components/ProjectFrame";
import { Button, ErrorNote, Field, Select, useAction } from "../../components/ui";
import {
  ALERT_METRICS,
  type Alert,
  type AlertIn,
  CONDITIONS,
  formatValue,
  isAnomaly,
  isChange,
  SENSITIVITIES,
  WINDOWS,
} from "../../lib/alerts";
import { useAsync } from "../../lib/useAsync";

/** Metrics that count things (whole numbers on the chart's axis). */
const WHOLE_METRICS = ["visitors", "visits", "pageviews", "events", "error_events", "new_error_issues"];

type Preview = Schemas["AlertPreview"];

/** The dashed lines beside the preview: an anomaly rule's expected band, else the thresholds. */
function guides(preview: Preview | null | undefined, points: Preview["points"]): Guide[] {
  if (points.some((p) => p.lower != null))
    return [
      { label: "Expected low", values: points.map((p) => p.lower ?? null) },
      { label: "Expected high", values: points.map((p) => p.upper ?? null) },
    ];
  return [
    ...(preview?.warning != null ? [{ label: "Warning", values: points.map(() => preview.warning ?? null) }] : []),
    ...(preview?.critical != null ? [{ label: "Critical", values: points.map(() => preview.critical ?? null) }] : []),
  ];
}

const number = (text: string) => (text.trim() === "" ? null : Number(text));
const text = (value: number | null | undefined) => (value == null ? "" : String(value));

export function AlertForm({ editing, onSaved }: { editing?: Alert; onSaved: (alert: Alert) => void }) {
  const { project } = useProject();
  const path = { org_id: project.org_id, project_id: project.id };
  const [name, setName] = useState(editing?.name ?? "");
  const [metric, setMetric] = useState(editing?.metric ?? "visitors");
  const [goal, setGoal] = useState("");
  const [windowMinutes, setWindowMinutes] = useState(editing?.window_minutes ?? 60);
  const [condition, setCondition] = useState(editing?.condition ?? "below");
  const [baseline, setBaseline] = useState(editing?.baseline ?? "previous_period");
  const [sensitivity, setSensitivity] = useState(editing?.sensitivity ?? "medium");
  const [warning, setWarning] = useState(text(editing?.warning));
  const [critical, setCritical] = useState(text(editing?.critical));
  const [resolve, setResolve] = useState(editing ? text(editing.resolve) : "");
  const [pending, setPending] = useState(text(editing?.pending_minutes ?? 0));
  const [every, setEvery] = useState(editing?.every_minutes ?? 5);
  const [channels, setChannels] = useState<string[]>(editing?.channel_ids ?? []);
  const available = useAsync(
    () => unwrap(api.GET("/api/v1/orgs/{org_id}/channels", { params: { path: { org_id: project.org_id } } })),
    [project.org_id],
  );
  const rule = (): AlertIn => ({
    name: name || "Alert",
    metric,
    filters:
      metric === "conversion_rate" && goal
        ? [["is", "event:goal", [goal]]]
        : ((editing?.filters as unknown[] | undefined) ?? []),
    window_minutes: isAnomaly(condition) ? 60 : windowMinutes,
    condition,
    baseline: isChange(condition) ? baseline : null,
    sensitivity: isAnomaly(condition) ? sensitivity : null,
    warning: isAnomaly(condition) ? null : number(warning),
    critical: isAnomaly(condition) ? null : number(critical),
    resolve: isAnomaly(condition) ? null : number(resolve),
    pending_minutes: number(pending) ?? 0,
    every_minutes: every,
    channel_ids: channels,
    version: editing?.version ?? null,
  });
  const [preview, setPreview] = useState<AlertIn | null>(null);
  const previewed = useAsync(
    async () =>
      preview
        ? unwrap(
            api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/alerts/preview", {
              params: { path: { org_id: project.org_id, project_id: project.id } },
              body: preview,
            }),
          )
        : null,
    [preview, project.org_id, project.id],
  );
  const save = useAction(async () => {
    const body = rule();
    const saved = editing
      ? await unwrap(
          api.PUT("/api/v1/orgs/{org_id}/projects/{project_id}/alerts/{alert_id}", {
            params: { path: { ...path, alert_id: editing.id } },
            body,
          }),
        )
      : await unwrap(api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/alerts", { params: { path }, body }));
    onSaved(saved);
  });
  const points = previewed.data?.points ?? [];
  const shown = { metric, condition };
  return (
    <form
      className="stack-form"
      aria-label={editing ? "Edit alert" : "New alert"}
      onSubmit={(event) => {
        event.preventDefault();
        void save.run();
      }}
    >
      <Field label="Name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
      <div className="inline-form">
        <Select label="Metric" value={metric} onChange={(e) => setMetric(e.target.value)}>
          {ALERT_METRICS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </Select>
        {metric === "conversion_rate" && (
          <Field label="Goal name" required value={goal} onChange={(e) => setGoal(e.target.value)} />
        )}
        {!isAnomaly(condition) && (
          <Select label="Window" value={windowMinutes} onChange={(e) => setWindowMinutes(Number(e.target.value))}>
            {WINDOWS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </Select>
        )}
        <Select label="Condition" value={condition} onChange={(e) => setCondition(e.target.value)}>
          {CONDITIONS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </Select>
        {isAnomaly(condition) && (
          <Select label="Sensitivity" value={sensitivity} onChange={(e) => setSensitivity(e.target.value)}>
            {SENSITIVITIES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </Select>
        )}
        {isChange(condition) && (
          <Select label="Compared with" value={baseline} onChange={(e) => setBaseline(e.target.value)}>
            <option value="previous_period">the window before</option>
            <option value="last_week">the same window last week</option>
          </Select>
        )}
      </div>
      {isAnomaly(condition) && (
        <p className="muted">
          Evaluated once an hour, on the hour: the hour just ended is compared with what a model of the four weeks
          before it (daily and weekly pattern) expects. It needs 14 days of history.
        </p>
      )}
      <div className="inline-form">
        {!isAnomaly(condition) && (
          <>
            <Field
              label="Warning at"
              inputMode="decimal"
              value={warning}
              onChange={(e) => setWarning(e.target.value)}
            />
            <Field
              label="Critical at"
              inputMode="decimal"
              value={critical}
              onChange={(e) => setCritical(e.target.value)}
            />
            <Field
              label="Resolves at"
              inputMode="decimal"
              hint="Default: the warning threshold"
              value={resolve}
              onChange={(e) => setResolve(e.target.value)}
            />
          </>
        )}
        <Field
          label="Pending minutes"
          inputMode="numeric"
          hint="How long a breach lasts before it fires"
          value={pending}
          onChange={(e) => setPending(e.target.value)}
        />
        {!isAnomaly(condition) && (
          <Select label="Evaluate every" value={every} onChange={(e) => setEvery(Number(e.target.value))}>
            {[1, 5, 15, 60].map((minutes) => (
              <option key={minutes} value={minutes}>
                {minutes === 60 ? "hour" : `${minutes} min`}
              </option>
            ))}
          </Select>
        )}
      </div>
      <fieldset>
        <legend>Notify</legend>
        {available.data?.length === 0 && <p className="muted">No channels yet: an admin adds them under Channels.</p>}
        {available.data?.map((channel) => (
          <label key={channel.id} className="check-label">
            <input
              type="checkbox"
              checked={channels.includes(channel.id)}
              onChange={(e) =>
                setChannels(e.target.checked ? [...channels, channel.id] : channels.filter((id) => id !== channel.id))
              }
            />{" "}
            {channel.name} ({channel.kind})
          </label>
        ))}
      </fieldset>
      <div className="inline-form">
        <Button variant="secondary" onClick={() => setPreview(rule())} busy={previewed.loading}>
          Preview
        </Button>
        <Button type="submit" busy={save.busy}>
          {editing ? "Save alert" : "Create alert"}
        </Button>
      </div>
      <ErrorNote error={save.error ?? previewed.error} />
      {points.length > 0 && (
        <div className="preview" data-testid="alert-preview">
          <LineChart
            label="Compared value"
            data={{
              labels: points.map((p) => new Date(p.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
              values: points.map((p) => p.value ?? 0),
            }}
            guides={guides(previewed.data, points)}
            format={(v) => formatValue(shown, v)}
            whole={!isChange(condition) && WHOLE_METRICS.includes(metric)}
          />
          <p className="muted">
            Now:{" "}
            {points.at(-1)?.value == null
              ? (points.at(-1)?.note ?? "nothing to measure")
              : formatValue(shown, points.at(-1)?.value ?? 0)}
            {points.at(-1)?.value == null
              ? ""
              : points.at(-1)?.breach
                ? ` — breaches ${points.at(-1)?.breach}`
                : " — within bounds"}
            . {points.filter((p) => p.breach).length} of the last 24 windows breached.
          </p>
        </div>
      )}
    </form>
  );
}
