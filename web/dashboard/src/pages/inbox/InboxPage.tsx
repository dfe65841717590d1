// `/orgs/:org/inbox`: the signed-in member's notifications in the organization (mentions,
// replies, assignments, due tasks, issue state changes), newest first, each linking to where it
// happened; mark one or all read; and the member's preferences per kind (inbox, e-mail).
import { useEffect, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { inboxChanged } from "../../components/InboxLink";
import { Layout } from "../../components/Layout";
import { Button, Card, Empty, ErrorNote, Loading, useAction } from "../../components/ui";
import { Link } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

type Notification = Schemas["NotificationOut"];
type Preference = Schemas["PreferenceDto"];

/** Notifications per page. */
const PAGE = 50;

const KIND_LABELS: Record<Preference["kind"], string> = {
  mention: "Mentions of you",
  reply: "Replies in threads you took part in",
  assignment: "Tasks assigned to you, and due-soon reminders",
  issue_state: "State changes of error issues you follow",
};

/** Where a notification links in the dashboard. */
export function notificationPlace(orgId: string, n: Notification): string {
  const base = `/orgs/${orgId}/projects/${n.project_id}`;
  switch (n.target_kind) {
    case "issue":
      return `${base}/errors/${n.target_id}`;
    case "task":
      return `${base}/tasks?task=${n.target_id}`;
    case "dashboard":
      return `${base}/dashboards/${n.target_id}`;
    case "widget":
      return `${base}/dashboards/${n.target_id.split("/")[0]}`;
    case "funnel":
      return `${base}/goals`;
    default:
      return base;
  }
}

/** "ann@example.com mentioned you". */
function headline(n: Notification): string {
  const who = n.actor_email ?? "Beacon";
  switch (n.kind) {
    case "mention":
      return `${who} mentioned you`;
    case "reply":
      return `${who} replied in a thread you took part in`;
    case "assignment":
      return `${who} assigned you a task`;
    case "due_soon":
      return "A task assigned to you is due soon";
    case "issue_state":
      return `${who} changed an error issue you follow`;
    default:
      return `${who} notified you`;
  }
}

function Preferences({ orgId }: { orgId: string }) {
  const prefs = useAsync(
    () => unwrap(api.GET("/api/v1/orgs/{org_id}/notification-preferences", { params: { path: { org_id: orgId } } })),
    [orgId],
  );
  const [draft, setDraft] = useState<Preference[] | null>(null);
  const [saved, setSaved] = useState(false);
  const rows = draft ?? prefs.data ?? [];
  const save = useAction(async () => {
    const stored = await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/notification-preferences", {
        params: { path: { org_id: orgId } },
        body: { preferences: rows },
      }),
    );
    setDraft(stored);
    setSaved(true);
  });
  const change = (kind: Preference["kind"], key: "inbox" | "email", on: boolean) => {
    setSaved(false);
    setDraft(rows.map((row) => (row.kind === kind ? { ...row, [key]: on } : row)));
  };
  if (prefs.error) return <ErrorNote error={prefs.error} />;
  if (!prefs.data) return <Loading />;
  return (
    <Card title="Notification preferences">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Inbox</th>
            <th scope="col">E-mail</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.kind}>
              <th scope="row">{KIND_LABELS[row.kind]}</th>
              <td>
                <input
                  type="checkbox"
                  aria-label={`${KIND_LABELS[row.kind]}: inbox`}
                  checked={row.inbox}
                  onChange={(e) => change(row.kind, "inbox", e.target.checked)}
                />
              </td>
              <td>
                <input
                  type="checkbox"
                  aria-label={`${KIND_LABELS[row.kind]}: e-mail`}
                  checked={row.email}
                  onChange={(e) => change(row.kind, "email", e.target.checked)}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">E-mails wait a few minutes so that several notifications arrive in one.</p>
      <div className="actions">
        <Button busy={save.busy} onClick={() => save.run()} disabled={!draft}>
          Save preferences
        </Button>
        {saved && (
          <span role="status" className="muted">
            Saved.
          </span>
        )}
      </div>
      <ErrorNote error={save.error} />
    </Card>
  );
}

export function InboxPage({ orgId }: { orgId: string }) {
  const [unreadOnly, setUnreadOnly] = useState(false);
  const inbox = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/notifications", {
          params: { path: { org_id: orgId }, query: { unread: unreadOnly, limit: PAGE } },
        }),
      ),
    [orgId, unreadOnly],
  );
  // Older pages, fetched by "Load older" after the first one; cleared when the first reloads.
  const [older, setOlder] = useState<Notification[]>([]);
  const [exhausted, setExhausted] = useState(false);
  // A new first page (its data) starts the list over.
  useEffect(() => {
    setOlder([]);
    setExhausted(false);
  }, [inbox.data]);
  const shown = [...(inbox.data ?? []), ...older];
  const loadOlder = useAction(async () => {
    const last = shown[shown.length - 1];
    if (!last) return;
    const page = await unwrap(
      api.GET("/api/v1/orgs/{org_id}/notifications", {
        params: { path: { org_id: orgId }, query: { unread: unreadOnly, limit: PAGE, before: last.id } },
      }),
    );
    setOlder((previous) => [...previous, ...page]);
    setExhausted(page.length < PAGE);
  });
  const mark = useAction(async (ids?: string[]) => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/notifications/read", {
        params: { path: { org_id: orgId } },
        body: ids ? { ids } : {},
      }),
    );
    inboxChanged();
    inbox.reload();
  });
  const unread = shown.filter((n) => !n.read_at).length;
  return (
    <Layout orgId={orgId}>
      <h1>Inbox</h1>
      <Card
        title="Notifications"
        actions={
          <div className="actions">
            <label className="inline-check">
              <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} /> Unread
              only
            </label>
            <Button variant="secondary" busy={mark.busy} disabled={unread === 0} onClick={() => mark.run()}>
              Mark all read
            </Button>
          </div>
        }
      >
        <ErrorNote error={inbox.error ?? mark.error} />
        {!inbox.data && !inbox.error && <Loading />}
        {inbox.data?.length === 0 && (
          <Empty>
            {unreadOnly ? "Nothing unread." : "Nothing yet: mentions, replies and tasks for you show here."}
          </Empty>
        )}
        <ol className="inbox">
          {shown.map((n) => (
            <li key={n.id} className={n.read_at ? "read" : "unread"}>
              <p>
                {!n.read_at && <span className="visually-hidden">Unread: </span>}
                <strong>{headline(n)}</strong>{" "}
                <time className="muted" dateTime={n.created_at}>
                  {new Date(n.created_at).toLocaleString()}
                </time>
              </p>
              <p className="inbox-summary">{n.summary}</p>
              <p className="row-actions">
                <Link to={notificationPlace(orgId, n)} onClick={() => !n.read_at && void mark.run([n.id])}>
                  Open
                </Link>
                {!n.read_at && (
                  <Button variant="ghost" onClick={() => mark.run([n.id])}>
                    Mark read
                  </Button>
                )}
              </p>
            </li>
          ))}
        </ol>
        {inbox.data && inbox.data.length === PAGE && !exhausted && (
          <Button variant="secondary" busy={loadOlder.busy} onClick={() => loadOlder.run()}>
            Load older
          </Button>
        )}
        <ErrorNote error={loadOlder.error} />
      </Card>
      <Preferences orgId={orgId} />
    </Layout>
  );
}
