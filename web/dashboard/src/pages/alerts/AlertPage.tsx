// `/orgs/:org/projects/:project/alerts/:alert`: one rule, its status, mute and edit, and its
// history of state changes. Notification links point here.
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, Empty, ErrorNote, Loading, useAction } from "../../components/ui";
import { formatValue, isAnomaly, ruleSentence } from "../../lib/alerts";
import { canWrite } from "../../lib/roles";
import { Link, useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";
import { AlertForm } from "./AlertForm";
import { StateBadge } from "./AlertsPage";

export function AlertPage({ alertId }: { alertId: string }) {
  const { project, role } = useProject();
  const { navigate } = useRouter();
  const path = { org_id: project.org_id, project_id: project.id, alert_id: alertId };
  const alert = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/alerts/{alert_id}", {
          params: { path: { org_id: project.org_id, project_id: project.id, alert_id: alertId } },
        }),
      ),
    [project.org_id, project.id, alertId],
  );
  const history = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/alerts/{alert_id}/history", {
          params: { path: { org_id: project.org_id, project_id: project.id, alert_id: alertId } },
        }),
      ),
    [project.org_id, project.id, alertId, alert.data],
  );
  const [editing, setEditing] = useState(false);
  const mute = useAction(async (hours: number | null) => {
    await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/projects/{project_id}/alerts/{alert_id}/mute", {
        params: { path },
        body: { until: hours == null ? null : new Date(Date.now() + hours * 3_600_000).toISOString() },
      }),
    );
    alert.reload();
  });
  const remove = useAction(async () => {
    await unwrap(api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/alerts/{alert_id}", { params: { path } }));
    navigate(`/orgs/${project.org_id}/projects/${project.id}/alerts`);
  });
  const rule = alert.data;
  const muted = !!rule?.muted_until && Date.parse(rule.muted_until) > Date.now();
  return (
    <>
      <p>
        <Link to={`/orgs/${project.org_id}/projects/${project.id}/alerts`}>← All alerts</Link>
      </p>
      <ErrorNote error={alert.error ?? mute.error ?? remove.error} />
      {!rule && !alert.error && <Loading />}
      {rule && (
        <Card title={rule.name}>
          <p>{ruleSentence(rule)}</p>
          <dl className="facts">
            <dt>State</dt>
            <dd>
              <StateBadge state={rule.state} level={rule.level} muted={muted} /> since{" "}
              {new Date(rule.state_since).toLocaleString()}
            </dd>
            <dt>Last value</dt>
            <dd>
              {rule.last_value == null ? "–" : formatValue(rule, rule.last_value)}
              {rule.last_evaluated_at && ` at ${new Date(rule.last_evaluated_at).toLocaleString()}`}
              {rule.last_error && ` (${rule.last_error})`}
            </dd>
            <dt>Evaluated</dt>
            <dd>
              every {rule.every_minutes} min; fires after {rule.pending_minutes} min in breach;{" "}
              {isAnomaly(rule.condition)
                ? "resolves back within the expected band"
                : `resolves at ${formatValue(rule, rule.resolve)}`}
            </dd>
            {muted && rule.muted_until && (
              <>
                <dt>Muted until</dt>
                <dd>{new Date(rule.muted_until).toLocaleString()}</dd>
              </>
            )}
          </dl>
          {canWrite(role) && (
            <div className="inline-form">
              {muted ? (
                <Button variant="secondary" busy={mute.busy} onClick={() => void mute.run(null)}>
                  Unmute
                </Button>
              ) : (
                <>
                  <Button variant="secondary" busy={mute.busy} onClick={() => void mute.run(1)}>
                    Mute 1 hour
                  </Button>
                  <Button variant="secondary" busy={mute.busy} onClick={() => void mute.run(24)}>
                    Mute 1 day
                  </Button>
                </>
              )}
              <Button variant="secondary" onClick={() => setEditing(!editing)}>
                {editing ? "Cancel edit" : "Edit"}
              </Button>
              <Button variant="danger" busy={remove.busy} onClick={() => void remove.run()}>
                Delete
              </Button>
            </div>
          )}
          {editing && (
            <AlertForm
              editing={rule}
              onSaved={() => {
                setEditing(false);
                alert.reload();
              }}
            />
          )}
        </Card>
      )}
      <Card title="History">
        <ErrorNote error={history.error} />
        {history.data?.length === 0 && <Empty>No state changes yet.</Empty>}
        {history.data && history.data.length > 0 && rule && (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Change</th>
                  <th scope="col" className="num">
                    Value
                  </th>
                  <th scope="col" className="num">
                    Threshold
                  </th>
                  <th scope="col">Notified</th>
                </tr>
              </thead>
              <tbody>
                {history.data.map((event) => (
                  <tr key={`${event.at}-${event.to_state}`}>
                    <td>{new Date(event.at).toLocaleString()}</td>
                    <td>
                      {event.from_state} → {event.to_state}
                      {event.level ? ` (${event.level})` : ""}
                    </td>
                    <td className="num">{event.value == null ? "–" : formatValue(rule, event.value)}</td>
                    <td className="num">{event.threshold == null ? "–" : formatValue(rule, event.threshold)}</td>
                    <td>{event.notified ? "yes" : "no"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </>
  );
}
