// Alert rules as the dashboard shows them: the metric and condition names the API takes, in
// words, and a rule's threshold sentence.
import type { Schemas } from "../api/client";
import { formatMetric } from "./format";

export type Alert = Schemas["AlertOut"];
export type AlertIn = Schemas["AlertIn"];

/** The metrics a rule can watch (docs/alerts.md), with their labels. */
export const ALERT_METRICS: [string, string][] = [
  ["visitors", "Visitors"],
  ["visits", "Visits"],
  ["pageviews", "Pageviews"],
  ["events", "Events"],
  ["bounce_rate", "Bounce rate"],
  ["visit_duration", "Visit duration"],
  ["views_per_visit", "Views per visit"],
  ["conversion_rate", "Conversion rate of a goal"],
  ["error_events", "Error events"],
  ["new_error_issues", "New error issues"],
  ["lcp_p75", "LCP p75"],
  ["inp_p75", "INP p75"],
  ["cls_p75", "CLS p75"],
  ["fcp_p75", "FCP p75"],
  ["ttfb_p75", "TTFB p75"],
];

export const CONDITIONS: [string, string][] = [
  ["above", "is above"],
  ["below", "is below"],
  ["increase_pct", "rises by more than (%)"],
  ["decrease_pct", "falls by more than (%)"],
  ["anomaly", "is unusual (anomaly detection)"],
];

export const SENSITIVITIES: [string, string][] = [
  ["low", "low (99.9% band)"],
  ["medium", "medium (99% band)"],
  ["high", "high (95% band)"],
];

export const WINDOWS: [number, string][] = [
  [15, "last 15 minutes"],
  [30, "last 30 minutes"],
  [60, "last hour"],
  [360, "last 6 hours"],
  [1440, "last 24 hours"],
  [10080, "last 7 days"],
];

export const metricLabel = (metric: string) => ALERT_METRICS.find(([m]) => m === metric)?.[1] ?? metric;

export const windowLabel = (minutes: number) => WINDOWS.find(([m]) => m === minutes)?.[1] ?? `last ${minutes} minutes`;

export const isChange = (condition: string) => condition === "increase_pct" || condition === "decrease_pct";

export const isAnomaly = (condition: string) => condition === "anomaly";

/** A value of the rule's compared quantity: a percent for changes, else the metric's format. */
export function formatValue(alert: Pick<Alert, "metric" | "condition">, value: number): string {
  if (isChange(alert.condition)) return `${Math.round(value * 10) / 10}%`;
  if (alert.metric.endsWith("_p75")) return alert.metric === "cls_p75" ? value.toFixed(3) : `${Math.round(value)} ms`;
  return formatMetric(alert.metric, value);
}

/** "Visitors (last hour) is below 100 (critical 50)". */
export function ruleSentence(alert: Alert): string {
  if (isAnomaly(alert.condition))
    return `${metricLabel(alert.metric)} (each hour) is unusual for its daily and weekly pattern: sensitivity ${alert.sensitivity ?? "medium"}`;
  const condition = CONDITIONS.find(([c]) => c === alert.condition)?.[1] ?? alert.condition;
  const levels = [
    alert.warning != null ? `warning ${formatValue(alert, alert.warning)}` : null,
    alert.critical != null ? `critical ${formatValue(alert, alert.critical)}` : null,
  ].filter(Boolean);
  const baseline = alert.baseline ? ` against ${alert.baseline.replace("_", " ")}` : "";
  return `${metricLabel(alert.metric)} (${windowLabel(alert.window_minutes)}) ${condition}${baseline}: ${levels.join(", ")}`;
}
