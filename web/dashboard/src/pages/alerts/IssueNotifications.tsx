// The "Error issue notifications" card of the Alerts page: which channels hear of new and
// regressed error issues (a Jira or GitHub connector makes a ticket for each), and the hourly
// cap that keeps a bad deploy from flooding them. Admins edit; everyone sees the settings and
// this hour's count.
import { useEffect, useState } from "react";
import { api, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, ErrorNote, Field, Loading, useAction } from "../../components/ui";
import { canAdmin } from "../../lib/roles";
import { useAsync } from "../../lib/useAsync";

export function IssueNotifications() {
  const { project, role } = useProject();
  const path = { org_id: project.org_id, project_id: project.id };
  const settings = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/issue-notifications", {
          params: { path: { org_id: project.org_id, project_id: project.id } },
        }),
      ),
    [project.org_id, project.id],
  );
  const available = useAsync(
    () => unwrap(api.GET("/api/v1/orgs/{org_id}/channels", { params: { path: { org_id: project.org_id } } })),
    [project.org_id],
  );
  const [onNew, setOnNew] = useState(true);
  const [onRegression, setOnRegression] = useState(true);
  const [channels, setChannels] = useState<string[]>([]);
  const [cap, setCap] = useState(20);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!settings.data) return;
    setOnNew(settings.data.on_new);
    setOnRegression(settings.data.on_regression);
    setChannels(settings.data.channel_ids);
    setCap(settings.data.hourly_cap);
  }, [settings.data]);
  const save = useAction(async () => {
    setSaved(false);
    await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/projects/{project_id}/issue-notifications", {
        params: { path },
        body: { on_new: onNew, on_regression: onRegression, channel_ids: channels, hourly_cap: cap },
      }),
    );
    setSaved(true);
    settings.reload();
  });
  const admin = canAdmin(role);
  return (
    <Card title="Error issue notifications">
      <ErrorNote error={settings.error ?? available.error ?? save.error} />
      {!settings.data && !settings.error && <Loading />}
      {settings.data && (
        <form
          aria-label="Error issue notifications"
          onSubmit={(event) => {
            event.preventDefault();
            void save.run();
          }}
        >
          <fieldset disabled={!admin}>
            <legend>Tell the channels below when</legend>
            <label className="check-label">
              <input type="checkbox" checked={onNew} onChange={(e) => setOnNew(e.target.checked)} /> a new error issue
              appears
            </label>
            <label className="check-label">
              <input type="checkbox" checked={onRegression} onChange={(e) => setOnRegression(e.target.checked)} /> a
              resolved issue comes back (a regression)
            </label>
          </fieldset>
          <fieldset disabled={!admin}>
            <legend>Channels</legend>
            {available.data?.length === 0 && (
              <p className="muted">No channels yet: an admin adds them under Channels.</p>
            )}
            {available.data?.map((channel) => (
              <label key={channel.id} className="check-label">
                <input
                  type="checkbox"
                  checked={channels.includes(channel.id)}
                  onChange={(e) =>
                    setChannels(
                      e.target.checked ? [...channels, channel.id] : channels.filter((id) => id !== channel.id),
                    )
                  }
                />{" "}
                {channel.name} ({channel.kind === "jira" || channel.kind === "github" ? "makes a ticket" : channel.kind}
                )
              </label>
            ))}
          </fieldset>
          <Field
            label="At most this many notices an hour"
            type="number"
            min={1}
            max={1000}
            required
            disabled={!admin}
            hint={`This hour: ${settings.data.sent_this_hour} sent, ${settings.data.held_back_this_hour} held back (the next hour's first notice says how many).`}
            value={cap}
            onChange={(e) => setCap(Number(e.target.value))}
          />
          {admin && (
            <div className="inline-form">
              <Button type="submit" busy={save.busy}>
                Save
              </Button>
              {saved && <span role="status">Saved.</span>}
            </div>
          )}
        </form>
      )}
    </Card>
  );
}
