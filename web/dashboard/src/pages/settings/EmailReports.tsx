// The "E-mail reports" card of a project's settings: who receives the weekly (Mondays) and
// monthly (the 1st) report. Everyone subscribes or unsubscribes themselves and can send a
// preview to their own address; admins add any address and remove anyone's subscription.
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, ErrorNote, Field, Loading, Select, useAction } from "../../components/ui";
import { canAdmin } from "../../lib/roles";
import { useAsync } from "../../lib/useAsync";

const CADENCES = [
  { value: "weekly", label: "Weekly (Mondays, the week before)" },
  { value: "monthly", label: "Monthly (the 1st, the month before)" },
];

export function EmailReports() {
  const { project, role } = useProject();
  const path = { org_id: project.org_id, project_id: project.id };
  const admin = canAdmin(role);
  const reports = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/reports", {
          params: { path: { org_id: project.org_id, project_id: project.id } },
        }),
      ),
    [project.org_id, project.id],
  );
  const [cadence, setCadence] = useState("weekly");
  const [email, setEmail] = useState("");
  const [skipEmpty, setSkipEmpty] = useState(true);
  const [note, setNote] = useState("");
  const subscribe = useAction(async (address?: string) => {
    setNote("");
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/reports/subscriptions", {
        params: { path },
        body: { cadence, skip_empty: skipEmpty, ...(address ? { email: address } : {}) },
      }),
    );
    setEmail("");
    setNote(address ? `${address} receives the ${cadence} report.` : `You receive the ${cadence} report.`);
    reports.reload();
  });
  const remove = useAction(async (id: string) => {
    setNote("");
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/reports/subscriptions/{subscription_id}", {
        params: { path: { ...path, subscription_id: id } },
      }),
    );
    reports.reload();
  });
  const preview = useAction(async () => {
    setNote("");
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/reports/preview", { params: { path }, body: { cadence } }),
    );
    setNote(`A preview of the ${cadence} report is on its way to your address.`);
  });
  const data = reports.data;
  return (
    <Card title="E-mail reports">
      <ErrorNote error={reports.error ?? subscribe.error ?? remove.error ?? preview.error} />
      {!data && !reports.error && <Loading />}
      {data && (
        <>
          <p className="muted">
            Sent at {data.send_time} ({data.timezone}): the headline numbers against the period before, a chart of
            visitors, top pages, sources and countries, goal conversions, new and regressed errors, and Web Vitals.
          </p>
          {data.subscriptions.length === 0 ? (
            <p className="muted">Nobody receives a report of this project yet.</p>
          ) : (
            <table className="table" aria-label="Report subscriptions">
              <thead>
                <tr>
                  <th>Address</th>
                  <th>Report</th>
                  <th>Without traffic</th>
                  <th>Last sent</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.subscriptions.map((s) => (
                  <tr key={s.subscription_id}>
                    <td>
                      {s.email}
                      {s.mine && <span className="muted"> (you)</span>}
                    </td>
                    <td>{s.cadence}</td>
                    <td>{s.skip_empty ? "skipped" : "sent"}</td>
                    <td>{s.last_sent_at ? new Date(s.last_sent_at).toLocaleString() : "not yet"}</td>
                    <td>
                      {(s.mine || admin) && (
                        <Button
                          variant="secondary"
                          aria-label={`Remove ${s.email} (${s.cadence})`}
                          busy={remove.busy}
                          onClick={() => void remove.run(s.subscription_id)}
                        >
                          Remove
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <form
            aria-label="Subscribe to a report"
            onSubmit={(event) => {
              event.preventDefault();
              void subscribe.run(email.trim() || undefined);
            }}
          >
            <Select label="Report" value={cadence} onChange={(e) => setCadence(e.target.value)}>
              {CADENCES.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </Select>
            <label className="check-label">
              <input type="checkbox" checked={skipEmpty} onChange={(e) => setSkipEmpty(e.target.checked)} /> Skip when
              there was no traffic
            </label>
            {admin && (
              <Field
                label="Another address (admins; leave empty to subscribe yourself)"
                type="email"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            )}
            <div className="inline-form">
              <Button type="submit" busy={subscribe.busy}>
                {email.trim() ? "Add address" : "Subscribe me"}
              </Button>
              <Button type="button" variant="secondary" busy={preview.busy} onClick={() => void preview.run()}>
                Send me a preview now
              </Button>
            </div>
          </form>
          {note && <p role="status">{note}</p>}
        </>
      )}
    </Card>
  );
}
