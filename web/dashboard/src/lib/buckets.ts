// Time buckets of the main graph. The Stats API returns only buckets that have data, labelled
// `YYYY-MM-DD HH:00:00` (hour) or `YYYY-MM-DD` (first day of the day, ISO week or month);
// the graph needs every bucket of the range, with zeros where nothing happened.
import type { Interval } from "../pages/dashboard/viewState";

const DAY_MS = 86_400_000;

function parseDay(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Every bucket label from `from` to `to` (inclusive days, the project's local dates). */
export function bucketLabels(from: string, to: string, interval: Interval): string[] {
  const start = parseDay(from);
  const end = parseDay(to);
  if (!(start <= end)) return [];
  const labels: string[] = [];
  if (interval === "hour") {
    for (let day = start; day <= end; day += DAY_MS) {
      for (let hour = 0; hour < 24; hour++) labels.push(`${isoDay(day)} ${String(hour).padStart(2, "0")}:00:00`);
    }
  } else if (interval === "day") {
    for (let day = start; day <= end; day += DAY_MS) labels.push(isoDay(day));
  } else if (interval === "week") {
    const weekday = (new Date(start).getUTCDay() + 6) % 7; // Monday = 0
    for (let day = start - weekday * DAY_MS; day <= end; day += 7 * DAY_MS) labels.push(isoDay(day));
  } else {
    const first = new Date(start);
    let year = first.getUTCFullYear();
    let month = first.getUTCMonth();
    while (Date.UTC(year, month, 1) <= end) {
      labels.push(isoDay(Date.UTC(year, month, 1)));
      month += 1;
      if (month === 12) {
        month = 0;
        year += 1;
      }
    }
  }
  return labels;
}

/** Values per bucket: the API's rows placed on `labels`, zero elsewhere. */
export function fillBuckets(labels: string[], rows: { dimensions: (string | null)[]; metrics: number[] }[]): number[] {
  const byLabel = new Map(rows.map((row) => [row.dimensions[0], row.metrics[0]]));
  return labels.map((label) => byLabel.get(label) ?? 0);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A short axis label for a bucket. */
export function shortLabel(label: string, interval: Interval): string {
  const month = MONTHS[Number(label.slice(5, 7)) - 1] ?? "";
  if (interval === "hour") return label.slice(11, 16);
  if (interval === "month") return `${month} ${label.slice(0, 4)}`;
  return `${month} ${Number(label.slice(8, 10))}`;
}

/** `at` (an instant) as local time in `timezone`, `YYYY-MM-DD HH:MM:SS` (the labels' form). */
export function localLabel(at: string, timezone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(at));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}:${part("second")}`;
}

/** The index of the bucket of `labels` (ascending) holding local time `local`; `null` when it
 * falls before the first or after the range. */
export function bucketIndex(labels: string[], local: string, lastDay: string): number | null {
  if (labels.length === 0 || local < labels[0] || local.slice(0, 10) > lastDay) return null;
  let index = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] <= local) index = i;
  return index;
}
