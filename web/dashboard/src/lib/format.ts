// Numbers and durations as the dashboard shows them.
const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });

export function formatNumber(value: number): string {
  return Math.abs(value) >= 10_000 ? compact.format(value) : Math.round(value).toLocaleString("en");
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function formatPercent(value: number): string {
  return `${Math.round(value * 10) / 10}%`;
}

/** The metric formatted by its kind. */
export function formatMetric(metric: string, value: number): string {
  if (metric === "visit_duration") return formatDuration(value);
  if (metric === "bounce_rate" || metric === "conversion_rate") return formatPercent(value);
  if (metric === "views_per_visit") return (Math.round(value * 100) / 100).toString();
  return formatNumber(value);
}
