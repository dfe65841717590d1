// `/orgs/:org/channels`: where alerts are sent — e-mail, Slack, Microsoft Teams, Discord,
// signed webhooks, and Jira or GitHub Issues connectors (which make tickets). A channel's URL,
// secret and token are never shown again after saving (only the receiver's host); a webhook's
// signing secret is shown once, when made or rotated. Admins add, test, turn on or off, rotate
// and delete channels and read each one's delivery log.
import { useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { Layout } from "../../components/Layout";
import { Button, Card, CopyButton, Empty, ErrorNote, Field, Loading, Select, useAction } from "../../components/ui";
import { useOrg } from "../../lib/orgs";
import { canAdmin } from "../../lib/roles";
import { useAsync } from "../../lib/useAsync";

type Channel = Schemas["ChannelOut"];

const KINDS: [string, string, string][] = [
  ["slack", "Slack", "The incoming-webhook URL (https://hooks.slack.com/services/…)"],
  ["teams", "Microsoft Teams", "The Workflows incoming-webhook URL"],
  ["discord", "Discord", "The webhook URL (https://discord.com/api/webhooks/…)"],
  ["webhook", "Webhook (signed)", "Your HTTPS endpoint; deliveries are signed with Standard Webhooks"],
  ["email", "E-mail", ""],
  ["jira", "Jira (tickets)", "Your Jira Cloud site (https://your-team.atlassian.net)"],
  ["github", "GitHub Issues (tickets)", "Leave empty for github.com; the API root of GitHub Enterprise Server"],
];

/** Labels typed as "a, b c" → ["a", "b", "c"]. */
function labelsOf(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((label) => label.trim())
    .filter(Boolean);
}

/** What a connector's tickets go to, in a line. */
function connectorLine(channel: Channel): string {
  const connector = channel.connector;
  if (!connector) return "";
  const where =
    channel.kind === "jira"
      ? `project ${connector.project_key} (${connector.issue_type}) on ${channel.url_host}`
      : `${connector.repository} on ${channel.url_host}`;
  const labels = connector.labels.length > 0 ? `, labels ${connector.labels.join(", ")}` : "";
  return `Tickets in ${where}${labels}${connector.comment_on_resolve ? "; comments when resolved" : ""}`;
}

function Secret({ secret }: { secret: string }) {
  return (
    <div className="banner banner-warn" role="status">
      <p>
        The signing secret, shown this once (verify deliveries with it): <code className="long-value">{secret}</code>
      </p>
      <CopyButton text={secret} label="Copy secret" />
    </div>
  );
}

function NewChannel({ orgId, onSaved }: { orgId: string; onSaved: (secret: string | null) => void }) {
  const [kind, setKind] = useState("slack");
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [emails, setEmails] = useState("");
  const [token, setToken] = useState("");
  const [accountEmail, setAccountEmail] = useState("");
  const [projectKey, setProjectKey] = useState("");
  const [issueType, setIssueType] = useState("Bug");
  const [repository, setRepository] = useState("");
  const [labels, setLabels] = useState("beacon");
  const [commentOnResolve, setCommentOnResolve] = useState(true);
  const connector = kind === "jira" || kind === "github";
  const save = useAction(async () => {
    const body: Schemas["ChannelIn"] =
      kind === "email"
        ? { name, kind, emails: labelsOf(emails) }
        : connector
          ? {
              name,
              kind,
              url: url || null,
              token,
              connector:
                kind === "jira"
                  ? {
                      account_email: accountEmail,
                      project_key: projectKey,
                      issue_type: issueType,
                      labels: labelsOf(labels),
                      comment_on_resolve: commentOnResolve,
                    }
                  : { repository, labels: labelsOf(labels), comment_on_resolve: commentOnResolve },
            }
          : { name, kind, url };
    const made = await unwrap(
      api.POST("/api/v1/orgs/{org_id}/channels", { params: { path: { org_id: orgId } }, body }),
    );
    setName("");
    setUrl("");
    setEmails("");
    setToken("");
    onSaved(made.secret ?? null);
  });
  const hint = KINDS.find(([k]) => k === kind)?.[2] ?? "";
  return (
    <form
      className="inline-form"
      aria-label="New channel"
      onSubmit={(event) => {
        event.preventDefault();
        void save.run();
      }}
    >
      <Select label="Kind" value={kind} onChange={(e) => setKind(e.target.value)}>
        {KINDS.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </Select>
      <Field label="Name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
      {kind === "email" ? (
        <Field
          label="Addresses"
          required
          hint="Separated by commas or spaces"
          value={emails}
          onChange={(e) => setEmails(e.target.value)}
        />
      ) : (
        <Field
          label={kind === "jira" ? "Site URL" : kind === "github" ? "API URL" : "URL"}
          type="url"
          required={kind !== "github"}
          hint={hint}
          maxLength={2000}
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
      )}
      {kind === "jira" && (
        <>
          <Field
            label="Account e-mail"
            type="email"
            required
            hint="The Atlassian account the API token belongs to"
            value={accountEmail}
            onChange={(e) => setAccountEmail(e.target.value)}
          />
          <Field
            label="Project key"
            required
            maxLength={10}
            hint="e.g. OPS"
            value={projectKey}
            onChange={(e) => setProjectKey(e.target.value.toUpperCase())}
          />
          <Field
            label="Issue type"
            required
            maxLength={60}
            value={issueType}
            onChange={(e) => setIssueType(e.target.value)}
          />
        </>
      )}
      {kind === "github" && (
        <Field
          label="Repository"
          required
          maxLength={140}
          hint="owner/repository"
          value={repository}
          onChange={(e) => setRepository(e.target.value)}
        />
      )}
      {connector && (
        <>
          <Field
            label="Labels"
            hint="Separated by commas or spaces"
            value={labels}
            onChange={(e) => setLabels(e.target.value)}
          />
          <Field
            label="API token"
            type="password"
            required
            autoComplete="off"
            maxLength={1000}
            hint={
              kind === "jira"
                ? "An Atlassian API token; stored encrypted and never shown again"
                : "A fine-grained token with Issues read and write; stored encrypted and never shown again"
            }
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
          <label className="check-label">
            <input type="checkbox" checked={commentOnResolve} onChange={(e) => setCommentOnResolve(e.target.checked)} />{" "}
            Comment on the ticket when the issue is resolved in Beacon
          </label>
        </>
      )}
      <Button type="submit" busy={save.busy}>
        Add channel
      </Button>
      <ErrorNote error={save.error} />
    </form>
  );
}

function Deliveries({ orgId, channel }: { orgId: string; channel: Channel }) {
  const log = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/channels/{channel_id}/deliveries", {
          params: { path: { org_id: orgId, channel_id: channel.id }, query: { limit: 20 } },
        }),
      ),
    [orgId, channel.id],
  );
  return (
    <div className="deliveries">
      <ErrorNote error={log.error} />
      {log.data?.length === 0 && <Empty>Nothing sent yet.</Empty>}
      {log.data && log.data.length > 0 && (
        <div className="table-scroll">
          <table aria-label={`Deliveries to ${channel.name}`}>
            <thead>
              <tr>
                <th scope="col">Queued</th>
                <th scope="col">What</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
              </tr>
            </thead>
            <tbody>
              {log.data.map((delivery) => (
                <tr key={delivery.id}>
                  <td>{new Date(delivery.created_at).toLocaleString()}</td>
                  <td>
                    {String((delivery.payload as { summary?: string }).summary ?? delivery.kind)}
                    {delivery.ticket_url && (
                      <>
                        {" "}
                        <a href={delivery.ticket_url} target="_blank" rel="noopener noreferrer">
                          {delivery.ticket_key}
                        </a>
                      </>
                    )}
                  </td>
                  <td>{delivery.status}</td>
                  <td>{delivery.attempts}</td>
                  <td>{delivery.last_error ?? (delivery.last_status ? `HTTP ${delivery.last_status}` : "–")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Button variant="ghost" onClick={log.reload}>
        Refresh
      </Button>
    </div>
  );
}

export function ChannelsPage({ orgId }: { orgId: string }) {
  const admin = canAdmin(useOrg(orgId)?.role ?? "viewer");
  const channels = useAsync(
    () => unwrap(api.GET("/api/v1/orgs/{org_id}/channels", { params: { path: { org_id: orgId } } })),
    [orgId],
  );
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const act = useAction(async (channel: Channel, what: "test" | "toggle" | "rotate" | "delete") => {
    const path = { org_id: orgId, channel_id: channel.id };
    setNote(null);
    if (what === "test") {
      await unwrap(api.POST("/api/v1/orgs/{org_id}/channels/{channel_id}/test", { params: { path } }));
      setNote(`A test message to ${channel.name} is on its way; its delivery log shows how it went.`);
      setOpen(channel.id);
    } else if (what === "toggle") {
      await unwrap(
        api.PATCH("/api/v1/orgs/{org_id}/channels/{channel_id}", {
          params: { path },
          body: { enabled: !channel.enabled },
        }),
      );
    } else if (what === "rotate") {
      const rotated = await unwrap(
        api.POST("/api/v1/orgs/{org_id}/channels/{channel_id}/rotate-secret", { params: { path } }),
      );
      setSecret(rotated.secret ?? null);
    } else {
      await unwrap(api.DELETE("/api/v1/orgs/{org_id}/channels/{channel_id}", { params: { path } }));
    }
    channels.reload();
  });
  return (
    <Layout orgId={orgId}>
      <h1>Notification channels</h1>
      {secret && <Secret secret={secret} />}
      {note && (
        <p className="banner" role="status">
          {note}
        </p>
      )}
      <Card title="Channels">
        <ErrorNote error={channels.error ?? act.error} />
        {!channels.data && !channels.error && <Loading />}
        {channels.data?.length === 0 && <Empty>No channels yet. Alerts notify the channels they name.</Empty>}
        {channels.data?.map((channel) => (
          <article key={channel.id} className="channel" aria-label={channel.name}>
            <header className="card-header">
              <h3>
                {channel.name} <span className="muted">({channel.kind})</span>
              </h3>
              <span className={`badge badge-${channel.enabled ? "good" : "bad"}`}>
                {channel.enabled ? "on" : "off"}
              </span>
            </header>
            <p className="muted">
              {channel.kind === "email"
                ? channel.emails.join(", ") || "members"
                : channel.connector
                  ? connectorLine(channel)
                  : `to ${channel.url_host ?? "?"}`}
              {channel.disabled_reason && ` — turned off: ${channel.disabled_reason}`}
            </p>
            {admin && (
              <div className="inline-form">
                <Button
                  variant="secondary"
                  disabled={!channel.enabled}
                  busy={act.busy}
                  onClick={() => void act.run(channel, "test")}
                >
                  Send test
                </Button>
                <Button variant="secondary" busy={act.busy} onClick={() => void act.run(channel, "toggle")}>
                  {channel.enabled ? "Turn off" : "Turn on"}
                </Button>
                {channel.kind === "webhook" && (
                  <Button variant="secondary" busy={act.busy} onClick={() => void act.run(channel, "rotate")}>
                    Rotate secret
                  </Button>
                )}
                <Button variant="ghost" onClick={() => setOpen(open === channel.id ? null : channel.id)}>
                  {open === channel.id ? "Hide deliveries" : "Deliveries"}
                </Button>
                <Button variant="danger" busy={act.busy} onClick={() => void act.run(channel, "delete")}>
                  Delete
                </Button>
              </div>
            )}
            {admin && open === channel.id && <Deliveries orgId={orgId} channel={channel} />}
          </article>
        ))}
        {admin && (
          <NewChannel
            orgId={orgId}
            onSaved={(made) => {
              setSecret(made);
              channels.reload();
            }}
          />
        )}
      </Card>
    </Layout>
  );
}
