// `/orgs/:org/projects/:project/dashboards/:dashboard`: a custom dashboard. The period and the
// filter bar live in the URL (like the main dashboard's) and apply to every widget; "Edit"
// lets members add, drag, resize and remove widgets and rename it. Saving names the version
// read: when someone else saved first, nothing is lost — their version stays, and this page
// says so and offers to reload.

import { lazy, Suspense, useEffect, useState } from "react";
import { ApiProblem, api, type Schemas, unwrap } from "../../api/client";
import { CommentThread } from "../../components/CommentThread";
import { useProject } from "../../components/ProjectFrame";
import { SegmentPicker } from "../../components/SegmentPicker";
import { Button, Card, ErrorNote, Loading, useAction } from "../../components/ui";
import { canWrite } from "../../lib/roles";
import { Link, useRouter } from "../../lib/router";
import { filterExpressions } from "../../lib/stats";
import { useAsync } from "../../lib/useAsync";
import { FilterChips } from "../dashboard/FilterChips";
import { PeriodSelect } from "../dashboard/PeriodSelect";
import { readView, withoutFilter, writeView } from "../dashboard/viewState";
import { ShareButton } from "../shared/ShareButton";
import { metricLabel, WidgetBody, type WidgetData } from "./Widget";
import { WidgetForm } from "./WidgetForm";

const BoardGrid = lazy(() => import("./BoardGrid"));

type Dashboard = Schemas["DashboardOut"];

export function BoardPage({ dashboardId }: { dashboardId: string }) {
  const { project, role } = useProject();
  const { path, search, navigate } = useRouter();
  const params = { org_id: project.org_id, project_id: project.id, dashboard_id: dashboardId };
  const loaded = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/dashboards/{dashboard_id}", {
          params: { path: { org_id: project.org_id, project_id: project.id, dashboard_id: dashboardId } },
        }),
      ),
    [project.org_id, project.id, dashboardId],
  );
  const [draft, setDraft] = useState<Dashboard | null>(null);
  const [adding, setAdding] = useState(false);
  const [conflict, setConflict] = useState<string | null>(null);
  const [refresh, setRefresh] = useState(0);
  // The widget whose thread the Discussion card shows (`null`: the dashboard's own).
  const [discussing, setDiscussing] = useState<string | null>(null);
  useEffect(() => setDraft(null), [dashboardId]);
  const board = draft ?? loaded.data;
  const editing = draft !== null;
  const hasPeriod = search.has("period");
  const view = readView(search);
  const period = hasPeriod ? view.period : (board?.period ?? "30d");
  const setView = (next: typeof view) => navigate(`${path}${writeView(next)}`);

  const save = useAction(async () => {
    if (!draft) return;
    try {
      await unwrap(
        api.PUT("/api/v1/orgs/{org_id}/projects/{project_id}/dashboards/{dashboard_id}", {
          params: { path: params },
          body: {
            version: draft.version,
            name: draft.name,
            period: draft.period ?? null,
            filters: draft.filters,
            widgets: draft.widgets,
          },
        }),
      );
      setDraft(null);
      setConflict(null);
      loaded.reload();
    } catch (error) {
      if (error instanceof ApiProblem && error.kind === "dashboard_conflict") {
        setConflict(error.detail);
        return;
      }
      throw error;
    }
  });

  if (loaded.error) return <ErrorNote error={loaded.error} />;
  if (!board) return <Loading />;
  const editable = canWrite(role);
  const context = {
    orgId: project.org_id,
    projectId: project.id,
    siteId: project.domains[0],
    period: period === "realtime" ? "day" : period,
    filters: [...board.filters, ...(filterExpressions(view.filters) ?? [])],
    refresh,
  };
  const byId = new Map(board.widgets.map((w) => [w.id, w]));
  const discussed = discussing ? byId.get(discussing) : undefined;
  const change = (next: Partial<Dashboard>) => setDraft({ ...board, ...next });
  const remove = (id: string) => change({ widgets: board.widgets.filter((w) => w.id !== id) });

  return (
    <div className="board">
      <div className="toolbar">
        {editing ? (
          <label className="board-name">
            <span className="visually-hidden">Dashboard name</span>
            <input value={board.name} maxLength={100} onChange={(e) => change({ name: e.target.value })} />
          </label>
        ) : (
          <h2 className="board-title">{board.name}</h2>
        )}
        <PeriodSelect value={period} onChange={(next) => setView({ ...view, period: next })} />
        <SegmentPicker
          orgId={project.org_id}
          projectId={project.id}
          filters={view.filters}
          canWrite={editable}
          onChange={(filters) => setView({ ...view, filters })}
        />
        <FilterChips filters={view.filters} onRemove={(dimension) => setView(withoutFilter(view, dimension))} />
        <Button variant="ghost" onClick={() => setRefresh((r) => r + 1)}>
          Refresh
        </Button>
        {editable && !editing && <ShareButton orgId={project.org_id} projectId={project.id} dashboardId={board.id} />}
        {editable && !editing && (
          <Button variant="secondary" onClick={() => setDraft(board)}>
            Edit dashboard
          </Button>
        )}
        {editing && (
          <>
            <Button variant="secondary" onClick={() => setAdding(true)}>
              Add widget
            </Button>
            <Button busy={save.busy} onClick={() => save.run()}>
              Save dashboard
            </Button>
            <Button
              variant="ghost"
              onClick={() => {
                setDraft(null);
                setConflict(null);
              }}
            >
              Cancel
            </Button>
          </>
        )}
      </div>
      {board.filters.length > 0 && (
        <p className="muted">This dashboard always applies {board.filters.length} filter(s) of its own.</p>
      )}
      {conflict && (
        <div className="banner banner-bad" role="alert">
          <p>{conflict}</p>
          <Button
            variant="secondary"
            onClick={() => {
              setDraft(null);
              setConflict(null);
              loaded.reload();
            }}
          >
            Reload the saved dashboard
          </Button>
        </div>
      )}
      <ErrorNote error={save.error} />
      {editing && <p className="muted">Drag a widget by its title bar and resize it by its corner, then save.</p>}
      {adding && editing && (
        <WidgetForm
          orgId={project.org_id}
          projectId={project.id}
          widgets={board.widgets}
          onCancel={() => setAdding(false)}
          onAdd={(widget) => {
            setAdding(false);
            change({ widgets: [...board.widgets, widget] });
          }}
        />
      )}
      {board.widgets.length === 0 && !adding && (
        <p className="empty">
          {editable ? "No widgets yet: choose Edit dashboard, then Add widget." : "No widgets yet."}
        </p>
      )}
      <Suspense fallback={<Loading />}>
        <BoardGrid
          places={board.widgets}
          editing={editing}
          onPlaces={(places) =>
            change({
              widgets: board.widgets.map((w) => {
                const place = places.find((p) => p.id === w.id);
                return place ? { ...w, x: place.x, y: place.y, w: place.w, h: place.h } : w;
              }),
            })
          }
          render={(id) => {
            const widget = byId.get(id) as WidgetData;
            return (
              <section className="widget" aria-label={widget.title || metricLabel(widget.kind)}>
                <header className="widget-handle">
                  <h3>{widget.title}</h3>
                  {!editing && (
                    <button
                      type="button"
                      className="widget-comments"
                      aria-label={`Comments on ${widget.title || metricLabel(widget.kind)}`}
                      aria-pressed={discussing === id}
                      onClick={() => setDiscussing(discussing === id ? null : id)}
                    >
                      💬
                    </button>
                  )}
                  {editing && (
                    <button
                      type="button"
                      className="widget-remove"
                      aria-label={`Remove widget ${widget.title}`}
                      onClick={() => remove(id)}
                    >
                      ×
                    </button>
                  )}
                </header>
                {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region is focusable so a keyboard can scroll a widget taller than its cell (WCAG 2.1.1, axe scrollable-region-focusable) */}
                <div className="widget-body" tabIndex={0}>
                  <WidgetBody widget={widget} context={context} />
                </div>
              </section>
            );
          }}
        />
      </Suspense>
      <Card
        title={discussed ? `Discussion: ${discussed.title || metricLabel(discussed.kind)}` : "Discussion"}
        actions={
          discussed && (
            <Button variant="ghost" onClick={() => setDiscussing(null)}>
              The dashboard's thread
            </Button>
          )
        }
      >
        <CommentThread
          key={discussed ? `widget-${discussed.id}` : "dashboard"}
          orgId={project.org_id}
          projectId={project.id}
          targetKind={discussed ? "widget" : "dashboard"}
          targetId={discussed ? `${board.id}/${discussed.id}` : board.id}
          canWrite={editable}
        />
      </Card>
      <p className="muted">
        <Link to={`/orgs/${project.org_id}/projects/${project.id}/dashboards?all=1`}>All dashboards</Link>
      </p>
    </div>
  );
}
