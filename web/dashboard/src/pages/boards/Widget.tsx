// One widget of a custom dashboard, by kind. Stats widgets send their saved query with the
// project, the period (the widget's own or the dashboard's) and the dashboard's filters added
// to the widget's own; the others read the same endpoints as their pages.
import { useMemo } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { LineChart } from "../../components/LineChart";
import { Empty, ErrorNote, Loading } from "../../components/ui";
import { bucketLabels, fillBuckets, shortLabel } from "../../lib/buckets";
import { formatMetric, formatNumber, formatPercent } from "../../lib/format";
import { Markdown } from "../../lib/markdown";
import { Link } from "../../lib/router";
import { dateRange, runQuery, type StatsQuery } from "../../lib/stats";
import { useAsync } from "../../lib/useAsync";
import type { Interval } from "../dashboard/viewState";
import { dimensionLabel, METRICS } from "../dashboard/viewState";

export type WidgetData = Schemas["WidgetDto"];

interface Context {
  orgId: string;
  projectId: string;
  siteId: string;
  /** The period every widget without its own reads. */
  period: string;
  /** Filter expressions of the dashboard and its filter bar. */
  filters: unknown[];
  refresh: number;
}

export function metricLabel(metric: string): string {
  return METRICS.find((m) => m.value === metric)?.label ?? metric.replace(/_/g, " ");
}

/** The Stats API body of a stats widget in its context. */
function statsBody(widget: WidgetData, context: Context, period: string): StatsQuery {
  const query = (widget.query ?? {}) as Record<string, unknown>;
  const own = Array.isArray(query.filters) ? query.filters : [];
  return {
    ...query,
    site_id: context.siteId,
    date_range: dateRange(period),
    filters: [...context.filters, ...own],
  } as StatsQuery;
}

function MetricWidget({ widget, context, period }: { widget: WidgetData; context: Context; period: string }) {
  const request = JSON.stringify({
    ...statsBody(widget, context, period),
    include: { comparisons: { mode: "previous_period" } },
  });
  const result = useAsync(() => runQuery(JSON.parse(request)), [request, context.refresh]);
  const metrics = ((widget.query as { metrics?: string[] })?.metrics ?? []) as string[];
  if (result.error) return <ErrorNote error={result.error} />;
  if (!result.data) return <Loading />;
  const row = result.data.results[0];
  return (
    <dl className="widget-metrics">
      {metrics.map((metric, i) => {
        const change = (row?.comparison?.change as number[] | undefined)?.[i];
        return (
          <div key={metric}>
            <dt>{metricLabel(metric)}</dt>
            <dd>
              <span className="value">{formatMetric(metric, (row?.metrics[i] as number) ?? 0)}</span>
              {typeof change === "number" && (
                <span className={change >= 0 ? "change up" : "change down"}>
                  {change >= 0 ? "+" : ""}
                  {change}
                  {metric === "bounce_rate" ? " pts" : "%"}
                </span>
              )}
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

function TimeSeriesWidget({ widget, context, period }: { widget: WidgetData; context: Context; period: string }) {
  const request = JSON.stringify(statsBody(widget, context, period));
  const query = widget.query as { metrics?: string[]; dimensions?: string[] };
  const metric = query?.metrics?.[0] ?? "visitors";
  const interval = (query?.dimensions?.[0] ?? "time:day").replace("time:", "") as Interval;
  const series = useAsync(async () => {
    const result = await runQuery(JSON.parse(request));
    const [from, to] = result.query.date_range as [string, string];
    const labels = bucketLabels(from, to, interval);
    return { labels: labels.map((l) => shortLabel(l, interval)), values: fillBuckets(labels, result.results) };
  }, [request, interval, context.refresh]);
  const format = useMemo(() => (value: number) => formatMetric(metric, value), [metric]);
  if (series.error) return <ErrorNote error={series.error} />;
  if (!series.data) return <Loading />;
  return <LineChart data={series.data} label={metricLabel(metric)} format={format} whole={metric !== "bounce_rate"} />;
}

function BreakdownWidget({ widget, context, period }: { widget: WidgetData; context: Context; period: string }) {
  const body = statsBody(widget, context, period);
  const request = JSON.stringify({ ...body, pagination: { limit: 10 } });
  const result = useAsync(() => runQuery(JSON.parse(request)), [request, context.refresh]);
  const query = widget.query as { metrics?: string[]; dimensions?: string[] };
  const metric = query?.metrics?.[0] ?? "visitors";
  if (result.error) return <ErrorNote error={result.error} />;
  if (!result.data) return <Loading />;
  if (result.data.results.length === 0) return <Empty>No data for this period.</Empty>;
  return (
    <table className="widget-table">
      <thead>
        <tr>
          <th scope="col">{dimensionLabel(query?.dimensions?.[0] ?? "")}</th>
          <th scope="col">{metricLabel(metric)}</th>
        </tr>
      </thead>
      <tbody>
        {result.data.results.map((row) => (
          <tr key={JSON.stringify(row.dimensions)}>
            <td>{(row.dimensions[0] as string | null) ?? "(none)"}</td>
            <td>{formatMetric(metric, row.metrics[0] as number)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FunnelWidget({ widget, context, period }: { widget: WidgetData; context: Context; period: string }) {
  const report = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/funnels/{funnel_id}/report", {
          params: {
            path: { org_id: context.orgId, project_id: context.projectId, funnel_id: widget.funnel_id ?? "" },
            query: { period },
          },
        }),
      ),
    [widget.funnel_id, period, context.orgId, context.projectId, context.refresh],
  );
  if (report.error) return <ErrorNote error={report.error} />;
  if (!report.data) return <Loading />;
  return (
    <ol className="widget-funnel">
      {report.data.steps.map((step) => (
        <li key={step.position}>
          <span>{step.name}</span> <strong>{formatNumber(step.visitors)}</strong>{" "}
          <span className="muted">{formatPercent(step.conversion_rate)}</span>
        </li>
      ))}
    </ol>
  );
}

function RetentionWidget({ context }: { context: Context }) {
  const report = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/retention", {
          params: { path: { org_id: context.orgId, project_id: context.projectId }, query: { weeks: 6 } },
        }),
      ),
    [context.orgId, context.projectId, context.refresh],
  );
  if (report.error) return <ErrorNote error={report.error} />;
  if (!report.data) return <Loading />;
  const weeks = Math.max(0, ...report.data.cohorts.map((c) => c.retention.length));
  return (
    <table className="widget-table">
      <thead>
        <tr>
          <th scope="col">Week</th>
          <th scope="col">Visitors</th>
          {Array.from({ length: weeks }, (_, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: weeks are positions
            <th scope="col" key={i}>
              W{i}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {report.data.cohorts.map((cohort) => (
          <tr key={cohort.week}>
            <td>{cohort.week}</td>
            <td>{formatNumber(cohort.visitors)}</td>
            {cohort.retention.map((share, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: weeks are positions
              <td key={i}>{formatPercent(share)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ErrorsWidget({ context }: { context: Context }) {
  const issues = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/issues", {
          params: {
            path: { org_id: context.orgId, project_id: context.projectId },
            query: { status: "unresolved", limit: 5 },
          },
        }),
      ),
    [context.orgId, context.projectId, context.refresh],
  );
  if (issues.error) return <ErrorNote error={issues.error} />;
  if (!issues.data) return <Loading />;
  if (issues.data.items.length === 0) return <Empty>No open errors.</Empty>;
  return (
    <ul className="widget-list">
      {issues.data.items.map((issue) => (
        <li key={issue.id}>
          <Link to={`/orgs/${context.orgId}/projects/${context.projectId}/errors/${issue.id}`}>{issue.title}</Link>{" "}
          <span className="muted">{formatNumber(issue.events)} events</span>
        </li>
      ))}
    </ul>
  );
}

const VITALS = ["LCP", "INP", "CLS"] as const;

function VitalsWidget({ context, period }: { context: Context; period: string }) {
  const vitals = useAsync(
    () =>
      Promise.all(
        VITALS.map((metric) =>
          unwrap(
            api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/vitals", {
              params: { path: { org_id: context.orgId, project_id: context.projectId }, query: { metric, period } },
            }),
          ),
        ),
      ),
    [period, context.orgId, context.projectId, context.refresh],
  );
  if (vitals.error) return <ErrorNote error={vitals.error} />;
  if (!vitals.data) return <Loading />;
  return (
    <dl className="widget-metrics">
      {vitals.data.map((summary) => {
        const total = summary.total;
        const p75 = total?.p75 ?? 0;
        const rating = total && total.samples > 0 ? total.rating : "none";
        return (
          <div key={summary.metric}>
            <dt>{summary.metric} p75</dt>
            <dd>
              <span className={`value rating-${rating}`}>
                {rating === "none" ? "—" : summary.metric === "CLS" ? p75.toFixed(2) : `${Math.round(p75)} ms`}
              </span>
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

/** The body of a widget. */
export function WidgetBody({ widget, context }: { widget: WidgetData; context: Context }) {
  const period = widget.period ?? context.period;
  switch (widget.kind) {
    case "metric":
      return <MetricWidget widget={widget} context={context} period={period} />;
    case "time_series":
      return <TimeSeriesWidget widget={widget} context={context} period={period} />;
    case "breakdown":
      return <BreakdownWidget widget={widget} context={context} period={period} />;
    case "funnel":
      return <FunnelWidget widget={widget} context={context} period={period} />;
    case "retention":
      return <RetentionWidget context={context} />;
    case "errors":
      return <ErrorsWidget context={context} />;
    case "vitals":
      return <VitalsWidget context={context} period={period} />;
    case "note":
      return <Markdown source={widget.text ?? ""} />;
  }
}
