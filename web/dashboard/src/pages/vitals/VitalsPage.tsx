// `/orgs/:org/projects/:project/vitals`: Core Web Vitals at the 75th percentile (what Google
// assesses), with the share of good / needs-improvement / poor page loads, per metric; the
// chosen metric by page, device or country, and its p75 per day.
import { useMemo } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { AiInsight } from "../../components/AiAnswer";
import { LineChart } from "../../components/LineChart";
import { useProject } from "../../components/ProjectFrame";
import { Card, CopyButton, Empty, ErrorNote, Loading, Select } from "../../components/ui";
import { bucketLabels, shortLabel } from "../../lib/buckets";
import { formatNumber } from "../../lib/format";
import { useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

type Metric = Schemas["VitalMetric"];
type Group = Schemas["VitalsGroupDto"];
const METRICS: { value: Metric; label: string }[] = [
  { value: "LCP", label: "Largest Contentful Paint" },
  { value: "INP", label: "Interaction to Next Paint" },
  { value: "CLS", label: "Cumulative Layout Shift" },
  { value: "FCP", label: "First Contentful Paint" },
  { value: "TTFB", label: "Time to First Byte" },
];

function formatVital(metric: Metric, value: number): string {
  return metric === "CLS"
    ? (Math.round(value * 1000) / 1000).toString()
    : value >= 1000
      ? `${(value / 1000).toFixed(2)} s`
      : `${Math.round(value)} ms`;
}

function Shares({ row }: { row: Schemas["VitalsRowOut"] }) {
  return (
    <div
      className="shares"
      role="img"
      aria-label={`${row.good}% good, ${row.needs_improvement}% needs improvement, ${row.poor}% poor`}
    >
      <span className="share good" style={{ width: `${row.good}%` }} />
      <span className="share needs-improvement" style={{ width: `${row.needs_improvement}%` }} />
      <span className="share poor" style={{ width: `${row.poor}%` }} />
    </div>
  );
}

function useSummary(metric: Metric, group: Group, period: string) {
  const { project } = useProject();
  return useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/vitals", {
          params: { path: { org_id: project.org_id, project_id: project.id }, query: { metric, group, period } },
        }),
      ),
    [project.org_id, project.id, metric, group, period],
  );
}

function MetricCard({
  metric,
  label,
  period,
  selected,
  onSelect,
}: {
  metric: Metric;
  label: string;
  period: string;
  selected: boolean;
  onSelect: () => void;
}) {
  const summary = useSummary(metric, "page", period);
  const total = summary.data?.total;
  return (
    <button
      type="button"
      className={`metric vital ${total ? `rated-${total.rating}` : ""}`}
      aria-pressed={selected}
      onClick={onSelect}
    >
      <span className="metric-label">{metric}</span>
      <span className="metric-value" data-vital={metric}>
        {total ? formatVital(metric, total.p75) : summary.loading ? "…" : "–"}
      </span>
      <span className="visually-hidden">{label}, 75th percentile</span>
      {total ? <Shares row={total} /> : <span className="metric-change">no samples</span>}
    </button>
  );
}

export function VitalsPage() {
  const { project } = useProject();
  const { path, search, navigate } = useRouter();
  const metric = (METRICS.some((m) => m.value === search.get("metric")) ? search.get("metric") : "LCP") as Metric;
  const group = (
    ["page", "device", "country"].includes(search.get("group") ?? "") ? search.get("group") : "page"
  ) as Group;
  const period = search.get("period") ?? "7d";
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(search);
    next.set(key, value);
    navigate(`${path}?${next}`, { replace: true });
  };
  const rows = useSummary(metric, group, period);
  const daily = useSummary(metric, "day", period);
  const chart = useMemo(() => {
    if (!daily.data) return undefined;
    const labels = bucketLabels(daily.data.from, daily.data.to, "day");
    const byDay = new Map(daily.data.rows.map((row) => [row.key, row.p75]));
    return { labels: labels.map((l) => shortLabel(l, "day")), values: labels.map((l) => byDay.get(l) ?? 0) };
  }, [daily.data]);
  const format = useMemo(() => (value: number) => formatVital(metric, value), [metric]);
  const snippet = `<script defer data-domain="${project.domains[0]}" src="${window.location.origin}/js/vitals.js"></script>`;
  return (
    <div className="vitals">
      <div className="toolbar">
        <Select label="Date range" value={period} onChange={(e) => set("period", e.target.value)}>
          <option value="day">Today</option>
          <option value="7d">Last 7 days</option>
          <option value="30d">Last 30 days</option>
          <option value="91d">Last 91 days</option>
        </Select>
      </div>
      <fieldset className="metrics vitals-metrics plain" aria-label="Core Web Vitals at the 75th percentile">
        {METRICS.map((m) => (
          <MetricCard
            key={m.value}
            metric={m.value}
            label={m.label}
            period={period}
            selected={metric === m.value}
            onSelect={() => set("metric", m.value)}
          />
        ))}
      </fieldset>
      <Card title="Bottlenecks">
        <AiInsight
          label="Find bottlenecks with AI"
          intro={
            <p className="muted">
              Which pages and elements drive a poor 75th percentile of LCP, INP and CLS, from web-vitals' attribution.
            </p>
          }
          ask={() =>
            api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/ai/vitals-hints", {
              params: { path: { org_id: project.org_id, project_id: project.id }, query: { period } },
              parseAs: "stream",
            })
          }
        />
      </Card>
      <Card
        title={`${METRICS.find((m) => m.value === metric)?.label} (p75 per day)`}
        actions={
          rows.data && (
            <span className="muted">
              good ≤ {formatVital(metric, rows.data.good_up_to)}, poor &gt; {formatVital(metric, rows.data.poor_above)}
            </span>
          )
        }
      >
        <ErrorNote error={daily.error} />
        {!chart && !daily.error && <Loading />}
        {chart && daily.data?.rows.length === 0 && (
          <Empty>
            No samples yet. Add the Web Vitals extension next to the tracking code: <code>{snippet}</code>{" "}
            <CopyButton text={snippet} label="Copy" />
          </Empty>
        )}
        {chart && daily.data && daily.data.rows.length > 0 && (
          <LineChart data={chart} label={`${metric} p75`} format={format} whole={false} />
        )}
      </Card>
      <Card
        title={`${metric} by ${group}`}
        actions={
          <fieldset className="segmented plain" aria-label="Group by">
            {(["page", "device", "country"] as const).map((g) => (
              <button key={g} type="button" aria-pressed={group === g} onClick={() => set("group", g)}>
                {g[0].toUpperCase() + g.slice(1)}
              </button>
            ))}
          </fieldset>
        }
      >
        <ErrorNote error={rows.error} />
        {!rows.data && !rows.error && <Loading />}
        {rows.data?.rows.length === 0 && <Empty>No samples in this range.</Empty>}
        {rows.data && rows.data.rows.length > 0 && (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">{group}</th>
                  <th scope="col" className="num">
                    p50
                  </th>
                  <th scope="col" className="num">
                    p75
                  </th>
                  <th scope="col" className="num">
                    p95
                  </th>
                  <th scope="col" className="num">
                    Samples
                  </th>
                  <th scope="col">Good / needs improvement / poor</th>
                </tr>
              </thead>
              <tbody>
                {rows.data.rows.map((row) => (
                  <tr key={row.key ?? "(unknown)"}>
                    <td>{row.key ?? "(unknown)"}</td>
                    <td className="num">{formatVital(metric, row.p50)}</td>
                    <td className={`num rated-${row.rating}`}>{formatVital(metric, row.p75)}</td>
                    <td className="num">{formatVital(metric, row.p95)}</td>
                    <td className="num">{formatNumber(row.samples)}</td>
                    <td>
                      <Shares row={row} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}
