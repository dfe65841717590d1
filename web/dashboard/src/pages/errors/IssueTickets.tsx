// The "Tickets" card of an error issue: its Jira and GitHub tickets (links), the ones being made
// or refused (with the tracker's own words), and a button per connector to make one. Making a
// ticket is queued on the server; the card looks again every two seconds while one is pending.
import { useEffect } from "react";
import { api, unwrap } from "../../api/client";
import { Button, Card, Empty, ErrorNote, Loading, useAction } from "../../components/ui";
import { Link } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

type IssuePath = { org_id: string; project_id: string; issue_id: string };

export function IssueTickets({ path, canAct }: { path: IssuePath; canAct: boolean }) {
  const tickets = useAsync(
    () =>
      unwrap(api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/issues/{issue_id}/tickets", { params: { path } })),
    [path],
  );
  const channels = useAsync(
    () => unwrap(api.GET("/api/v1/orgs/{org_id}/channels", { params: { path: { org_id: path.org_id } } })),
    [path.org_id],
  );
  const create = useAction(async (channelId: string) => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/issues/{issue_id}/tickets", {
        params: { path },
        body: { channel_id: channelId },
      }),
    );
    tickets.reload();
  });
  const { data, reload } = tickets;
  const pending = data?.requests.some((request) => request.status === "pending") ?? false;
  // Each answer that still has a pending request arms the next look (not only the first).
  useEffect(() => {
    if (!pending || !data) return;
    const timer = setTimeout(reload, 2000);
    return () => clearTimeout(timer);
  }, [pending, data, reload]);

  const connectors = (channels.data ?? []).filter((channel) => channel.kind === "jira" || channel.kind === "github");
  const nameOf = (id: string) => connectors.find((channel) => channel.id === id)?.name ?? "a removed connector";
  const made = new Set(tickets.data?.tickets.map((ticket) => ticket.channel_id));
  const asked = new Set(
    tickets.data?.requests.filter((request) => request.status === "pending").map((request) => request.channel_id),
  );
  return (
    <Card title="Tickets">
      <ErrorNote error={tickets.error ?? channels.error ?? create.error} />
      {!tickets.data && !tickets.error && <Loading />}
      {tickets.data && (
        <ul aria-label="Tickets">
          {tickets.data.tickets.map((ticket) => (
            <li key={ticket.channel_id}>
              <a href={ticket.url} target="_blank" rel="noopener noreferrer">
                {ticket.key}
              </a>{" "}
              <span className="muted">in {nameOf(ticket.channel_id)}</span>
            </li>
          ))}
          {tickets.data.requests.map((request) => (
            <li key={request.delivery_id} role="status">
              {request.status === "pending"
                ? `Making a ticket in ${nameOf(request.channel_id)}…`
                : `${nameOf(request.channel_id)} refused the ticket: ${request.last_error ?? "no reason given"}`}
            </li>
          ))}
        </ul>
      )}
      {channels.data && connectors.length === 0 && (
        <Empty>
          No Jira or GitHub connector yet: admins add one under{" "}
          <Link to={`/orgs/${path.org_id}/channels`}>Notification channels</Link>.
        </Empty>
      )}
      {canAct && (
        <div className="row">
          {connectors
            .filter((channel) => channel.enabled && !made.has(channel.id) && !asked.has(channel.id))
            .map((channel) => (
              <Button
                key={channel.id}
                variant="secondary"
                busy={create.busy}
                onClick={() => void create.run(channel.id)}
              >
                Create ticket in {channel.name}
              </Button>
            ))}
        </div>
      )}
    </Card>
  );
}
