// `/orgs/:org/projects/:project`: the project's analytics. Everything on it follows the view
// in the URL (period, metric, interval, filters).

import { useCallback, useEffect, useRef, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { AiInsight } from "../../components/AiAnswer";
import { useProject } from "../../components/ProjectFrame";
import { SegmentPicker } from "../../components/SegmentPicker";
import { Card, ErrorNote, Loading } from "../../components/ui";
import { canWrite } from "../../lib/roles";
import { useRouter } from "../../lib/router";
import { dateRange, filterExpressions, runQuery, type StatsQuery } from "../../lib/stats";
import { useAsync } from "../../lib/useAsync";
import { ShareButton } from "../shared/ShareButton";
import { Annotations } from "./Annotations";
import { Breakdown } from "./Breakdown";
import { FilterChips } from "./FilterChips";
import { type ArrivedEvent, LivePanel, useLiveEvents } from "./Live";
import { MainGraph } from "./MainGraph";
import { PdfDownload } from "./PdfDownload";
import { PeriodSelect } from "./PeriodSelect";
import { TopMetrics } from "./TopMetrics";
import { type DashboardView, METRICS, readView, withFilter, withoutFilter, writeView } from "./viewState";

/** Letter where it is the usual paper (the US, Canada, Mexico, the Philippines), else A4. */
function paperForLocale(): "a4" | "letter" {
  const region = (navigator.language.split("-")[1] ?? "").toUpperCase();
  return ["US", "CA", "MX", "PH"].includes(region) ? "letter" : "a4";
}

export function DashboardPage() {
  const { project, role } = useProject();
  const { path, search, navigate } = useRouter();
  const view = readView(search);
  const siteId = project.domains[0];
  const setView = (next: DashboardView) => navigate(`${path}${writeView(next)}`);

  const [refresh, setRefresh] = useState(0);
  const [live, setLive] = useState<ArrivedEvent[]>([]);
  const arrivals = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const realtime = view.period === "realtime";
  const onEvent = useCallback((event: Schemas["LiveEventOut"]) => {
    const seq = ++arrivals.current;
    setLive((events) => [{ ...event, seq }, ...events].slice(0, 20));
    // Many events in a burst cause one refresh, not one each.
    if (!pending.current) {
      pending.current = setTimeout(() => {
        pending.current = null;
        setRefresh((r) => r + 1);
      }, 1500);
    }
  }, []);
  useLiveEvents(project.org_id, project.id, realtime, onEvent);
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);

  // The query as a string, so the load depends on what the view says, not on object identity.
  const request = JSON.stringify({
    site_id: siteId,
    metrics: METRICS.map((m) => m.value),
    date_range: dateRange(view.period),
    filters: filterExpressions(view.filters),
    include: { comparisons: { mode: "previous_period" } },
  } satisfies StatsQuery);
  const totals = useAsync(async () => ({ request, result: await runQuery(JSON.parse(request)) }), [request, refresh]);
  // Until the answer for this period and these filters is in, the old one is not used for the
  // graph and panels (its date range belongs to the previous view).
  const current = totals.data?.request === request ? totals.data.result : undefined;
  const echo = current?.query;
  const range = echo ? (echo.date_range as [string, string]) : undefined;
  const previousRange = echo?.comparison_date_range ? (echo.comparison_date_range as [string, string]) : undefined;
  const annotationPeriod = realtime ? "day" : view.period;
  const annotations = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/annotations", {
          params: { path: { org_id: project.org_id, project_id: project.id }, query: { period: annotationPeriod } },
        }),
      ),
    [project.org_id, project.id, annotationPeriod],
  );
  const onFilter = (filter: { dimension: string; value: string }) => setView(withFilter(view, filter));
  const panel = { siteId, filters: view.filters, refresh, onFilter };

  return (
    <div className="dashboard">
      <div className="toolbar">
        <PeriodSelect realtime value={view.period} onChange={(next) => setView({ ...view, period: next })} />
        <a
          className="button button-secondary"
          href={`/api/v1/orgs/${project.org_id}/projects/${project.id}/exports/breakdowns?period=${encodeURIComponent(realtime ? "day" : view.period)}`}
          download
        >
          Download all breakdowns (ZIP)
        </a>
        {canWrite(role) && <ShareButton orgId={project.org_id} projectId={project.id} />}
        <PdfDownload
          key={`${view.period}-${paperForLocale()}`}
          orgId={project.org_id}
          projectId={project.id}
          period={realtime ? "day" : view.period}
          paper={paperForLocale()}
        />
        <SegmentPicker
          orgId={project.org_id}
          projectId={project.id}
          filters={view.filters}
          canWrite={canWrite(role)}
          onChange={(filters) => setView({ ...view, filters })}
        />
        <FilterChips filters={view.filters} onRemove={(dimension) => setView(withoutFilter(view, dimension))} />
      </div>
      {realtime && <LivePanel orgId={project.org_id} projectId={project.id} events={live} refresh={refresh} />}
      <ErrorNote error={totals.error} />
      {!current && !totals.error && <Loading />}
      {current && (
        <TopMetrics
          result={current}
          selected={view.metric}
          // Today so far against all of yesterday would mislead; whole periods only.
          compare={view.period !== "day" && view.period !== "realtime"}
          onSelect={(metric) => setView({ ...view, metric })}
        />
      )}
      {!realtime && (
        <Card title="Highlights">
          <AiInsight
            label="Summarize this period"
            ask={() =>
              api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/ai/highlights", {
                params: {
                  path: { org_id: project.org_id, project_id: project.id },
                  query: { period: view.period },
                },
                parseAs: "stream",
              })
            }
          />
        </Card>
      )}
      {range && (
        <>
          <MainGraph
            siteId={siteId}
            view={view}
            range={range}
            previousRange={previousRange}
            refresh={refresh}
            onInterval={(interval) => setView({ ...view, interval })}
            annotations={annotations.data}
            timezone={project.timezone}
          />
          <Annotations
            orgId={project.org_id}
            projectId={project.id}
            annotations={annotations.data ?? []}
            canWrite={canWrite(role)}
            onChange={annotations.reload}
          />
          <div className="panels">
            <Breakdown
              {...panel}
              dateRange={range}
              title="Pages"
              tabs={[
                { dimension: "event:page", label: "Top pages" },
                { dimension: "visit:entry_page", label: "Entry" },
                { dimension: "visit:exit_page", label: "Exit" },
              ]}
            />
            <Breakdown
              {...panel}
              dateRange={range}
              title="Sources"
              tabs={[
                { dimension: "visit:source", label: "Sources" },
                { dimension: "visit:utm_medium", label: "Medium" },
                { dimension: "visit:utm_source", label: "UTM source" },
                { dimension: "visit:utm_campaign", label: "Campaign" },
              ]}
            />
            <Breakdown
              {...panel}
              dateRange={range}
              title="Countries"
              tabs={[{ dimension: "visit:country", label: "Countries" }]}
            />
            <Breakdown
              {...panel}
              dateRange={range}
              title="Devices"
              tabs={[
                { dimension: "visit:device", label: "Devices" },
                { dimension: "visit:browser", label: "Browsers" },
                { dimension: "visit:os", label: "OS" },
              ]}
            />
            <Breakdown
              {...panel}
              dateRange={range}
              title="Custom events"
              metric="events"
              extra={[["is_not", "event:name", ["pageview"]]]}
              tabs={[{ dimension: "event:name", label: "Events" }]}
            />
          </div>
        </>
      )}
    </div>
  );
}
