// `/share/:token`: a shared dashboard for a visitor without an account. A password-protected
// link asks for its password first (the grant is kept for this tab only). The visitor changes
// the period and the filters (in the URL, like the dashboard's) and nothing else: no settings,
// no members, no other project, no write. Funnels, retention, Web Vitals and errors are not
// shown on a shared link; stats widgets and notes are.

import { type FormEvent, lazy, Suspense, useState } from "react";
import { ApiProblem, api, type Schemas, unwrap } from "../../api/client";
import { Button, Card, ErrorNote, Loading, useAction } from "../../components/ui";
import { Markdown } from "../../lib/markdown";
import { useRouter } from "../../lib/router";
import { dateRange, filterExpressions, runQuery, type StatsQuery, useSharedLinkQueries } from "../../lib/stats";
import { useAsync } from "../../lib/useAsync";
import { metricLabel, WidgetBody } from "../boards/Widget";
import { Breakdown } from "../dashboard/Breakdown";
import { FilterChips } from "../dashboard/FilterChips";
import { MainGraph } from "../dashboard/MainGraph";
import { PeriodSelect } from "../dashboard/PeriodSelect";
import { TopMetrics } from "../dashboard/TopMetrics";
import { METRICS, readView, withFilter, withoutFilter, writeView } from "../dashboard/viewState";

const BoardGrid = lazy(() => import("../boards/BoardGrid"));

type View = Schemas["SharedViewOut"];

/** The widget kinds a shared link shows (the others read more than the Stats API). */
const SHARED_KINDS = new Set(["metric", "time_series", "breakdown", "note"]);

function grantKey(token: string): string {
  return `beacon-share-grant:${token}`;
}

export function SharedPage({ token }: { token: string }) {
  const [grant, setGrant] = useState<string | null>(() => sessionStorage.getItem(grantKey(token)));
  useSharedLinkQueries({ token, grant });
  const view = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/shared/{token}", {
          params: { path: { token }, header: grant ? { "X-Beacon-Share-Grant": grant } : {} },
        }),
      ),
    [token, grant],
  );
  const locked = view.error instanceof ApiProblem && view.error.kind === "shared_link_locked";
  return (
    <main id="main" className="content shared">
      {locked && (
        <Unlock
          token={token}
          onGrant={(granted) => {
            sessionStorage.setItem(grantKey(token), granted);
            setGrant(granted);
          }}
        />
      )}
      {!locked && <ErrorNote error={view.error} />}
      {!view.data && !view.error && <Loading />}
      {view.data && <SharedView view={view.data} />}
      <p className="muted shared-footer">Shared with Beacon, privacy-first analytics.</p>
    </main>
  );
}

function Unlock({ token, onGrant }: { token: string; onGrant: (grant: string) => void }) {
  const [password, setPassword] = useState("");
  const unlock = useAction(async () => {
    const granted = await unwrap(
      api.POST("/api/v1/shared/{token}/unlock", { params: { path: { token } }, body: { password } }),
    );
    onGrant(granted.grant);
  });
  return (
    <Card title="This dashboard has a password">
      <form
        className="inline-form"
        aria-label="Unlock"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          unlock.run();
        }}
      >
        <label>
          <span className="visually-hidden">Password</span>
          <input
            type="password"
            placeholder="Password"
            value={password}
            required
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <Button type="submit" busy={unlock.busy}>
          Open
        </Button>
      </form>
      <ErrorNote error={unlock.error} />
    </Card>
  );
}

function SharedView({ view }: { view: View }) {
  const { path, search, navigate } = useRouter();
  const state = readView(search);
  const dashboard = view.dashboard;
  const period = search.has("period") ? state.period : (dashboard?.period ?? "30d");
  const setView = (next: typeof state) => navigate(`${path}${writeView(next)}`);
  return (
    <div className="dashboard">
      <div className="project-head">
        <h1>{dashboard?.name ?? view.project_name}</h1>
        <span className="muted">
          {view.site_id}
          {view.segment ? ` · limited to the segment “${view.segment}”` : ""}
        </span>
      </div>
      <div className="toolbar">
        <PeriodSelect value={period} onChange={(next) => setView({ ...state, period: next })} />
        <FilterChips filters={state.filters} onRemove={(dimension) => setView(withoutFilter(state, dimension))} />
      </div>
      {dashboard ? (
        <SharedBoard
          view={view}
          dashboard={dashboard}
          period={period}
          filters={filterExpressions(state.filters) ?? []}
        />
      ) : (
        <SharedMain view={view} state={{ ...state, period }} onView={setView} />
      )}
    </div>
  );
}

function SharedBoard({
  view,
  dashboard,
  period,
  filters,
}: {
  view: View;
  dashboard: Schemas["SharedDashboardOut"];
  period: string;
  filters: unknown[];
}) {
  const byId = new Map(dashboard.widgets.map((w) => [w.id, w]));
  const context = {
    orgId: "",
    projectId: "",
    siteId: view.site_id,
    period,
    filters: [...dashboard.filters, ...filters],
    refresh: 0,
  };
  return (
    <Suspense fallback={<Loading />}>
      <BoardGrid
        places={dashboard.widgets}
        editing={false}
        onPlaces={() => {}}
        render={(id) => {
          const widget = byId.get(id);
          if (!widget) return null;
          return (
            <section className="widget" aria-label={widget.title || metricLabel(widget.kind)}>
              <header className="widget-handle">
                <h3>{widget.title}</h3>
              </header>
              {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region is focusable so a keyboard can scroll it (axe scrollable-region-focusable) */}
              <div className="widget-body" tabIndex={0}>
                {SHARED_KINDS.has(widget.kind) ? (
                  widget.kind === "note" ? (
                    <Markdown source={widget.text ?? ""} />
                  ) : (
                    <WidgetBody widget={widget} context={context} />
                  )
                ) : (
                  <p className="muted">Not shown on a shared link.</p>
                )}
              </div>
            </section>
          );
        }}
      />
    </Suspense>
  );
}

function SharedMain({
  view,
  state,
  onView,
}: {
  view: View;
  state: ReturnType<typeof readView>;
  onView: (next: ReturnType<typeof readView>) => void;
}) {
  const request = JSON.stringify({
    site_id: view.site_id,
    metrics: METRICS.map((m) => m.value),
    date_range: dateRange(state.period),
    filters: filterExpressions(state.filters),
    include: { comparisons: { mode: "previous_period" } },
  } satisfies StatsQuery);
  const totals = useAsync(async () => ({ request, result: await runQuery(JSON.parse(request)) }), [request]);
  const current = totals.data?.request === request ? totals.data.result : undefined;
  const echo = current?.query;
  const range = echo ? (echo.date_range as [string, string]) : undefined;
  const previousRange = echo?.comparison_date_range ? (echo.comparison_date_range as [string, string]) : undefined;
  const panel = {
    siteId: view.site_id,
    filters: state.filters,
    refresh: 0,
    onFilter: (filter: { dimension: string; value: string }) => onView(withFilter(state, filter)),
    csv: false,
  };
  return (
    <>
      <ErrorNote error={totals.error} />
      {!current && !totals.error && <Loading />}
      {current && (
        <TopMetrics
          result={current}
          selected={state.metric}
          compare={state.period !== "day"}
          onSelect={(metric) => onView({ ...state, metric })}
        />
      )}
      {range && (
        <>
          <MainGraph
            siteId={view.site_id}
            view={state}
            range={range}
            previousRange={previousRange}
            refresh={0}
            onInterval={(interval) => onView({ ...state, interval })}
          />
          <div className="panels">
            <Breakdown
              {...panel}
              dateRange={range}
              title="Pages"
              tabs={[{ dimension: "event:page", label: "Top pages" }]}
            />
            <Breakdown
              {...panel}
              dateRange={range}
              title="Sources"
              tabs={[{ dimension: "visit:source", label: "Sources" }]}
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
              tabs={[{ dimension: "visit:device", label: "Devices" }]}
            />
          </div>
        </>
      )}
    </>
  );
}
