// The main graph: the chosen metric per time bucket, with the previous period dashed.
import { useMemo } from "react";
import { LineChart } from "../../components/LineChart";
import { ErrorNote, Loading } from "../../components/ui";
import { bucketIndex, bucketLabels, fillBuckets, localLabel, shortLabel } from "../../lib/buckets";
import { formatMetric } from "../../lib/format";
import { filterExpressions, runQuery } from "../../lib/stats";
import { useAsync } from "../../lib/useAsync";
import { type DashboardView, type Interval, intervalsFor, METRICS } from "./viewState";

/** Metrics that are counts, so the axis steps by whole numbers. */
const WHOLE_METRICS = new Set(["visitors", "visits", "pageviews"]);

/** An annotation: a moment and its note. */
export interface Moment {
  at: string;
  text: string;
}

const NO_MOMENTS: Moment[] = [];

interface Props {
  siteId: string;
  /** Annotations to mark on the graph, with the project's time zone to place them. */
  annotations?: Moment[];
  timezone?: string;
  view: DashboardView;
  range: [string, string];
  previousRange?: [string, string];
  refresh: number;
  onInterval: (interval: Interval) => void;
}

export function MainGraph({
  siteId,
  view,
  range,
  previousRange,
  refresh,
  onInterval,
  annotations = NO_MOMENTS,
  timezone = "UTC",
}: Props) {
  const { metric, interval, filters } = view;
  // The previous period is drawn except on the day and realtime views; the filters as a string,
  // so the load depends on what they say, not on the array's identity.
  const withPrevious = view.period !== "day" && view.period !== "realtime";
  const filterKey = JSON.stringify(filterExpressions(filters));
  const series = useAsync(async () => {
    const query = (dates: [string, string]) =>
      runQuery({
        site_id: siteId,
        metrics: [metric],
        date_range: dates,
        dimensions: [`time:${interval}`],
        filters: JSON.parse(filterKey),
      });
    const [current, previous] = await Promise.all([
      query(range),
      previousRange && withPrevious ? query(previousRange) : Promise.resolve(undefined),
    ]);
    const labels = bucketLabels(range[0], range[1], interval);
    const before = previousRange ? bucketLabels(previousRange[0], previousRange[1], interval) : [];
    return {
      labels: labels.map((label) => shortLabel(label, interval)),
      values: fillBuckets(labels, current.results),
      previous: previous ? fillBuckets(before, previous.results).slice(0, labels.length) : undefined,
    };
  }, [
    siteId,
    metric,
    interval,
    filterKey,
    withPrevious,
    range[0],
    range[1],
    previousRange?.[0],
    previousRange?.[1],
    refresh,
  ]);
  const format = useMemo(() => (value: number) => formatMetric(metric, value), [metric]);
  const markers = useMemo(() => {
    const labels = bucketLabels(range[0], range[1], interval);
    return annotations.flatMap((moment) => {
      const index = bucketIndex(labels, localLabel(moment.at, timezone), range[1]);
      return index === null ? [] : [{ index, label: moment.text }];
    });
  }, [annotations, timezone, range[0], range[1], interval]);
  const label = METRICS.find((m) => m.value === metric)?.label ?? metric;
  const intervals = intervalsFor(view.period);
  return (
    <section className="card graph" aria-label="Main graph">
      <header className="card-header">
        <h2>{label}</h2>
        {intervals.length > 1 && (
          <fieldset className="segmented plain" aria-label="Interval">
            {intervals.map((option) => (
              <button type="button" key={option} aria-pressed={option === interval} onClick={() => onInterval(option)}>
                {option[0].toUpperCase() + option.slice(1)}
              </button>
            ))}
          </fieldset>
        )}
      </header>
      <ErrorNote error={series.error} />
      {!series.data && !series.error && <Loading />}
      {series.data && (
        <LineChart
          data={series.data}
          label={label}
          format={format}
          whole={WHOLE_METRICS.has(metric)}
          markers={markers}
        />
      )}
    </section>
  );
}
