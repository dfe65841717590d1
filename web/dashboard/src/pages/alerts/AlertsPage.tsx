// `/orgs/:org/projects/:project/alerts`: the project's alert rules with their state, and the
// form for a new one, and which channels hear of new and regressed error issues. A rule's own
// page (AlertPage) shows its history.
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, Empty, ErrorNote, Loading } from "../../components/ui";
import { formatValue, ruleSentence } from "../../lib/alerts";
import { canWrite } from "../../lib/roles";
import { Link } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";
import { AlertForm } from "./AlertForm";
import { IssueNotifications } from "./IssueNotifications";

/** The state as a badge: ok, pending, firing (with its level), resolved, muted. */
export function StateBadge({ state, level, muted }: { state: string; level?: string | null; muted: boolean }) {
  const tone = state === "firing" ? (level === "critical" ? "bad" : "warn") : state === "pending" ? "warn" : "good";
  return (
    <span className={`badge badge-${tone}`}>
      {state === "firing" && level ? `firing (${level})` : state}
      {muted ? " · muted" : ""}
    </span>
  );
}

export function AlertsPage() {
  const { project, role } = useProject();
  const path = { org_id: project.org_id, project_id: project.id };
  const alerts = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/alerts", {
          params: { path: { org_id: project.org_id, project_id: project.id } },
        }),
      ),
    [project.org_id, project.id],
  );
  const [creating, setCreating] = useState(false);
  const base = `/orgs/${path.org_id}/projects/${path.project_id}/alerts`;
  const now = Date.now();
  return (
    <>
      <Card
        title="Alerts"
        actions={
          canWrite(role) &&
          !creating && (
            <Button variant="secondary" onClick={() => setCreating(true)}>
              New alert
            </Button>
          )
        }
      >
        <ErrorNote error={alerts.error} />
        {!alerts.data && !alerts.error && <Loading />}
        {alerts.data?.length === 0 && (
          <Empty>No alerts yet. An alert tells your team when a number crosses a threshold.</Empty>
        )}
        {alerts.data && alerts.data.length > 0 && (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Alert</th>
                  <th scope="col">Rule</th>
                  <th scope="col">State</th>
                  <th scope="col" className="num">
                    Last value
                  </th>
                </tr>
              </thead>
              <tbody>
                {alerts.data.map((alert) => (
                  <tr key={alert.id}>
                    <td>
                      <Link to={`${base}/${alert.id}`}>{alert.name}</Link>
                    </td>
                    <td className="muted">{ruleSentence(alert)}</td>
                    <td>
                      <StateBadge
                        state={alert.enabled ? alert.state : "off"}
                        level={alert.level}
                        muted={!!alert.muted_until && Date.parse(alert.muted_until) > now}
                      />
                    </td>
                    <td className="num">{alert.last_value == null ? "–" : formatValue(alert, alert.last_value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <IssueNotifications />
      {creating && (
        <Card title="New alert">
          <AlertForm
            onSaved={() => {
              setCreating(false);
              alerts.reload();
            }}
          />
        </Card>
      )}
    </>
  );
}
