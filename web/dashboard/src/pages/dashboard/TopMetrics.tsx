// The row of headline numbers, each compared with the previous period. Choosing one puts it
// on the main graph.
import { formatMetric } from "../../lib/format";
import type { StatsResult } from "../../lib/stats";
import { METRICS } from "./viewState";

/** Whether a rise is good news (for the bounce rate it is not). */
const higherIsBetter = (metric: string) => metric !== "bounce_rate";

export function TopMetrics({
  result,
  selected,
  compare = true,
  onSelect,
}: {
  result: StatsResult;
  selected: string;
  compare?: boolean;
  onSelect: (metric: string) => void;
}) {
  const row = result.results[0];
  return (
    <fieldset className="metrics plain" aria-label="Top metrics">
      {METRICS.map((metric, index) => {
        const value = row?.metrics[index] ?? 0;
        const change = compare ? row?.comparison?.change[index] : undefined;
        const unit = metric.value === "bounce_rate" ? " pp" : "%";
        const good = change !== undefined && change !== 0 && change > 0 === higherIsBetter(metric.value);
        return (
          <button
            type="button"
            key={metric.value}
            className="metric"
            aria-pressed={selected === metric.value}
            onClick={() => onSelect(metric.value)}
          >
            <span className="metric-label">{metric.label}</span>
            <span className="metric-value" data-metric={metric.value}>
              {formatMetric(metric.value, value)}
            </span>
            {change !== undefined && (
              <span className={`metric-change ${change === 0 ? "" : good ? "good" : "bad"}`}>
                {change > 0 ? "↑" : change < 0 ? "↓" : "→"} {Math.abs(change)}
                {unit}
                <span className="visually-hidden"> compared with the previous period</span>
              </span>
            )}
          </button>
        );
      })}
    </fieldset>
  );
}
