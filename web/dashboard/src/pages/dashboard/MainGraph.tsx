// The main graph: the chosen metric per time bucket, with the previous period dashed.
import { useMemo } from "react";
import { LineChart } from "../../components/LineChart";
import { ErrorNote, Loading } from "../../components/ui";
import { bucketIndex, bucketLabels, fillBuckets, localLabel, shortLabel } from "../../lib/buckets";
import { formatMetric } from "../../lib/format";
import { filterExpressions, runQuery } from "../../lib/stats";
import { useAsync } from "../../lib/useAsync";
import { usePeriodQuery } from "../../lib/usePeriodQuery";
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
  /** The days the page's totals cover, once they are in: the graph's own query starts at once
   * (see `usePeriodQuery`). */
  range?: [string, string];
  /** The days of the previous period, drawn dashed: undefined until the totals have said which
   * days they are, `null` for none. */
  previousRange?: [string, string] | null;
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
  const query = {
    site_id: siteId,
    metrics: [metric],
    dimensions: [`time:${interval}`],
    filters: JSON.parse(filterKey),
  };
  const current = usePeriodQuery(query, view.period, range, refresh);
  const previousKey = withPrevious && previousRange ? JSON.stringify({ ...query, date_range: previousRange }) : null;
  const previous = useAsync(
    async () => ({ previousKey, result: previousKey ? await runQuery(JSON.parse(previousKey)) : undefined }),
    [previousKey, refresh],
  );
  const before = previous.data?.previousKey === previousKey ? previous.data.result : undefined;
  // The graph's days are those its own answer covers.
  const shown = current.result?.query.date_range as [string, string] | undefined;
  // Drawn once the previous period is in too, where there is one.
  const waiting = withPrevious && (previousRange === undefined || (previousKey !== null && !before && !previous.error));
  const series = useMemo(() => {
    if (!current.result || !shown || waiting) return undefined;
    const labels = bucketLabels(shown[0], shown[1], interval);
    const earlier = previousRange ? bucketLabels(previousRange[0], previousRange[1], interval) : [];
    return {
      labels: labels.map((label) => shortLabel(label, interval)),
      values: fillBuckets(labels, current.result.results),
      previous: before ? fillBuckets(earlier, before.results).slice(0, labels.length) : undefined,
    };
  }, [current.result, shown, waiting, interval, previousRange, before]);
  const format = useMemo(() => (value: number) => formatMetric(metric, value), [metric]);
  const markers = useMemo(() => {
    if (!shown) return [];
    const labels = bucketLabels(shown[0], shown[1], interval);
    return annotations.flatMap((moment) => {
      const index = bucketIndex(labels, localLabel(moment.at, timezone), shown[1]);
      return index === null ? [] : [{ index, label: moment.text }];
    });
  }, [annotations, timezone, shown?.[0], shown?.[1], interval]);
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
      <ErrorNote error={current.error ?? previous.error} />
      {!series && !current.error && !previous.error && <Loading />}
      {series && (
        <LineChart data={series} label={label} format={format} whole={WHOLE_METRICS.has(metric)} markers={markers} />
      )}
    </section>
  );
}
