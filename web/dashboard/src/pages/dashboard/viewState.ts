// The dashboard's view lives in the URL so it can be shared and reloaded:
// `?period=7d&metric=pageviews&interval=day&f.visit:country=DE&f.event:page=/pricing`.
import type { ViewFilter } from "../../lib/stats";

export const PERIODS = [
  { value: "realtime", label: "Realtime" },
  { value: "day", label: "Today" },
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
  { value: "month", label: "This month" },
  { value: "6mo", label: "Last 6 months" },
  { value: "12mo", label: "Last 12 months" },
] as const;

export const METRICS = [
  { value: "visitors", label: "Unique visitors" },
  { value: "visits", label: "Total visits" },
  { value: "pageviews", label: "Total pageviews" },
  { value: "views_per_visit", label: "Views per visit" },
  { value: "bounce_rate", label: "Bounce rate" },
  { value: "visit_duration", label: "Visit duration" },
] as const;

export const INTERVALS = ["hour", "day", "week", "month"] as const;
export type Interval = (typeof INTERVALS)[number];

export interface DashboardView {
  period: string;
  metric: string;
  interval: Interval;
  filters: ViewFilter[];
}

/** The intervals that make sense for a period (at most a few hundred points). */
export function intervalsFor(period: string): Interval[] {
  if (period === "day" || period === "realtime") return ["hour"];
  if (period === "7d") return ["hour", "day"];
  if (period === "30d" || period === "month" || isCustomPeriod(period)) return ["day", "week"];
  return ["day", "week", "month"];
}

/** A fixed range of days, `YYYY-MM-DD,YYYY-MM-DD` (the links in e-mail reports). */
const CUSTOM_PERIOD = /^\d{4}-\d{2}-\d{2},\d{4}-\d{2}-\d{2}$/;

/** Whether `period` is a fixed range of days rather than a named one. */
export function isCustomPeriod(period: string): boolean {
  return CUSTOM_PERIOD.test(period);
}

export function readView(search: URLSearchParams): DashboardView {
  const asked = search.get("period") ?? "";
  const period = PERIODS.some((p) => p.value === asked) || isCustomPeriod(asked) ? asked : "30d";
  const metric = METRICS.some((m) => m.value === search.get("metric")) ? (search.get("metric") as string) : "visitors";
  const allowed = intervalsFor(period);
  const wanted = search.get("interval") as Interval | null;
  const interval = wanted && allowed.includes(wanted) ? wanted : allowed[0];
  const filters: ViewFilter[] = [];
  search.forEach((value, key) => {
    if (key.startsWith("f.")) filters.push({ dimension: key.slice(2), value });
  });
  return { period, metric, interval, filters };
}

export function writeView(view: DashboardView): string {
  const search = new URLSearchParams();
  if (view.period !== "30d") search.set("period", view.period);
  if (view.metric !== "visitors") search.set("metric", view.metric);
  if (view.interval !== intervalsFor(view.period)[0]) search.set("interval", view.interval);
  for (const filter of view.filters) search.append(`f.${filter.dimension}`, filter.value);
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The view with `filter` added, replacing any filter on the same dimension. */
export function withFilter(view: DashboardView, filter: ViewFilter): DashboardView {
  return { ...view, filters: [...view.filters.filter((f) => f.dimension !== filter.dimension), filter] };
}

export function withoutFilter(view: DashboardView, dimension: string): DashboardView {
  return { ...view, filters: view.filters.filter((f) => f.dimension !== dimension) };
}

const DIMENSION_LABELS: Record<string, string> = {
  "event:page": "Page",
  "event:name": "Event",
  "visit:entry_page": "Entry page",
  "visit:exit_page": "Exit page",
  "visit:source": "Source",
  "visit:utm_medium": "UTM medium",
  "visit:utm_source": "UTM source",
  "visit:utm_campaign": "UTM campaign",
  "visit:country": "Country",
  "visit:device": "Device",
  "visit:browser": "Browser",
  "visit:os": "Operating system",
  segment: "Segment",
};

export function dimensionLabel(dimension: string): string {
  return DIMENSION_LABELS[dimension] ?? dimension;
}
