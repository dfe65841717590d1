// `/orgs/:org/projects/:project/activity`: what happened in the project, newest first:
// comments, annotations, error issues' state changes and task assignments, each linking to
// where it happened.
import { api, type Schemas, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Card, Empty, ErrorNote, Loading } from "../../components/ui";
import { Link } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

type Item = Schemas["ActivityOut"];

const STATES: Record<string, string> = {
  resolved: "resolved",
  ignored: "ignored",
  unresolved: "reopened",
};

/** Where an item links: its issue, its dashboard, or the dashboard's graph for annotations. */
function place(base: string, item: Item): { to: string; label: string } {
  switch (item.target_kind) {
    case "issue":
      return { to: `${base}/errors/${item.target_id}`, label: "an error issue" };
    case "dashboard":
      return { to: `${base}/dashboards/${item.target_id}`, label: "a dashboard" };
    case "widget":
      return { to: `${base}/dashboards/${item.target_id.split("/")[0]}`, label: "a widget" };
    case "funnel":
      return { to: `${base}/goals`, label: "a funnel" };
    case "task":
      return { to: `${base}/tasks?task=${item.target_id}`, label: "a task" };
    default:
      return { to: base, label: "the graph" };
  }
}

export function ActivityPage() {
  const { project } = useProject();
  const base = `/orgs/${project.org_id}/projects/${project.id}`;
  const feed = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/activity", {
          params: { path: { org_id: project.org_id, project_id: project.id }, query: { limit: 100 } },
        }),
      ),
    [project.org_id, project.id],
  );
  if (feed.error) return <ErrorNote error={feed.error} />;
  if (!feed.data) return <Loading />;
  return (
    <Card title="Activity">
      {feed.data.length === 0 && (
        <Empty>Nothing yet: comments, annotations, changes to error issues and assignments show here.</Empty>
      )}
      <ol className="activity">
        {feed.data.map((item) => {
          const where = place(base, item);
          const who = item.actor_email ?? (item.actor_id ? "A former member" : "Beacon");
          return (
            <li key={`${item.kind}-${item.at}-${item.target_id}`}>
              <time dateTime={item.at}>{new Date(item.at).toLocaleString()}</time> <strong>{who}</strong>{" "}
              {item.kind === "comment" && (
                <>
                  commented on <Link to={where.to}>{where.label}</Link>: “{item.summary}”
                </>
              )}
              {item.kind === "annotation" && (
                <>
                  annotated <Link to={where.to}>{where.label}</Link>: “{item.summary}”
                </>
              )}
              {item.kind === "issue_state" && (
                <>
                  {STATES[item.summary] ?? `set to ${item.summary}`} <Link to={where.to}>{where.label}</Link>
                </>
              )}
              {item.kind === "assignment" && (
                <>
                  assigned <Link to={where.to}>{where.label}</Link>: {item.summary}
                </>
              )}
            </li>
          );
        })}
      </ol>
    </Card>
  );
}
