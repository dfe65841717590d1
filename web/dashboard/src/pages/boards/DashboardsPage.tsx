// `/orgs/:org/projects/:project/dashboards`: the project's custom dashboards in their order.
// Members create, duplicate, reorder, delete and choose the default (which the project's
// "Dashboards" tab opens).
import { type FormEvent, useEffect, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, Empty, ErrorNote, Field, Loading, useAction } from "../../components/ui";
import { canWrite } from "../../lib/roles";
import { Link, useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

type Summary = Schemas["DashboardSummary"];

export function DashboardsPage() {
  const { project, role } = useProject();
  const { navigate, search } = useRouter();
  const path = { org_id: project.org_id, project_id: project.id };
  const base = `/orgs/${project.org_id}/projects/${project.id}/dashboards`;
  const list = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/dashboards", {
          params: { path: { org_id: project.org_id, project_id: project.id } },
        }),
      ),
    [project.org_id, project.id],
  );
  const [name, setName] = useState("");
  const editable = canWrite(role);

  const create = useAction(async () => {
    const made = await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/dashboards", {
        params: { path },
        body: { name, filters: [], widgets: [] },
      }),
    );
    navigate(`${base}/${made.id}`);
  });
  const arrange = useAction(async (order: string[], defaultId: string | null) => {
    await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/projects/{project_id}/dashboard-arrangement", {
        params: { path },
        body: { order, default_id: defaultId },
      }),
    );
    list.reload();
  });
  const duplicate = useAction(async (id: string) => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/dashboards/{dashboard_id}/duplicate", {
        params: { path: { ...path, dashboard_id: id } },
      }),
    );
    list.reload();
  });
  const remove = useAction(async (board: Summary) => {
    if (!window.confirm(`Delete the dashboard "${board.name}"? Its widgets go with it.`)) return;
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/dashboards/{dashboard_id}", {
        params: { path: { ...path, dashboard_id: board.id } },
      }),
    );
    list.reload();
  });

  const boards = list.data ?? [];
  const defaultId = boards.find((b) => b.is_default)?.id ?? null;
  // The tab opens the default dashboard; "All dashboards" (`?all=1`) shows this list.
  const showAll = search.has("all");
  useEffect(() => {
    if (defaultId && !showAll) navigate(`${base}/${defaultId}`, { replace: true });
  }, [defaultId, showAll, base, navigate]);
  const move = (index: number, by: number) => {
    const order = boards.map((b) => b.id);
    const [moved] = order.splice(index, 1);
    order.splice(index + by, 0, moved);
    arrange.run(order, defaultId);
  };

  return (
    <div className="dashboards">
      <ErrorNote error={list.error ?? arrange.error ?? duplicate.error ?? remove.error} />
      {!list.data && !list.error && <Loading />}
      <Card title="Custom dashboards">
        {list.data && boards.length === 0 && <Empty>No custom dashboards yet.</Empty>}
        {boards.length > 0 && (
          <ul className="board-list">
            {boards.map((board, index) => (
              <li key={board.id}>
                <Link to={`${base}/${board.id}`}>{board.name}</Link>
                <span className="muted">
                  {board.widget_count} widget{board.widget_count === 1 ? "" : "s"}
                </span>
                {board.is_default && <span className="badge">Default</span>}
                {editable && (
                  <span className="row-actions">
                    <Button
                      variant="ghost"
                      aria-label={`Move ${board.name} up`}
                      disabled={index === 0}
                      onClick={() => move(index, -1)}
                    >
                      ↑
                    </Button>
                    <Button
                      variant="ghost"
                      aria-label={`Move ${board.name} down`}
                      disabled={index === boards.length - 1}
                      onClick={() => move(index, 1)}
                    >
                      ↓
                    </Button>
                    <Button
                      variant="ghost"
                      onClick={() =>
                        arrange.run(
                          boards.map((b) => b.id),
                          board.is_default ? null : board.id,
                        )
                      }
                    >
                      {board.is_default ? "Unset default" : "Make default"}
                    </Button>
                    <Button variant="ghost" onClick={() => duplicate.run(board.id)}>
                      Duplicate
                    </Button>
                    <Button variant="ghost" onClick={() => remove.run(board)}>
                      Delete
                    </Button>
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
        {editable && (
          <form
            className="inline-form"
            aria-label="New dashboard"
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              create.run();
            }}
          >
            <Field
              label="Name of the new dashboard"
              value={name}
              maxLength={100}
              required
              onChange={(e) => setName(e.target.value)}
            />
            <Button type="submit" busy={create.busy}>
              Create dashboard
            </Button>
          </form>
        )}
        <ErrorNote error={create.error} />
      </Card>
    </div>
  );
}
