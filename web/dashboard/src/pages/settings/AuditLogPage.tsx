// `/orgs/:org/audit-log` (admins and owners): who changed what, with each record's changed
// fields; the hash chain's verification; CSV and JSON Lines export; and, for owners, the stream
// to a SIEM (docs/audit.md). On plans without the audit log the API answers 402, shown as is.
import { type FormEvent, useCallback, useMemo, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { Layout } from "../../components/Layout";
import { Button, Card, CopyButton, Empty, ErrorNote, Field, Loading, useAction } from "../../components/ui";
import { useOrg } from "../../lib/orgs";
import { canAdmin, isOwner } from "../../lib/roles";
import { useAsync } from "../../lib/useAsync";

type Record = Schemas["AuditRecordOut"];
type Filters = { action: string; actor: string; from: string; to: string };
const NO_FILTERS: Filters = { action: "", actor: "", from: "", to: "" };

export function AuditLogPage({ orgId }: { orgId: string }) {
  const org = useOrg(orgId);
  if (!org)
    return (
      <Layout orgId={orgId}>
        <Loading />
      </Layout>
    );
  if (!canAdmin(org.role)) {
    return (
      <Layout orgId={orgId}>
        <h1>Audit log</h1>
        <Card>Only admins and owners read the audit log. Your role is {org.role}.</Card>
      </Layout>
    );
  }
  return (
    <Layout orgId={orgId}>
      <h1>Audit log</h1>
      <p className="muted">
        Every change to this organization and every sign-in of its members, in a tamper-evident chain.
      </p>
      <Verification orgId={orgId} />
      <Records orgId={orgId} />
      <Export orgId={orgId} />
      {isOwner(org.role) && <Stream orgId={orgId} />}
    </Layout>
  );
}

/** ISO time at the start of a `yyyy-mm-dd` day (UTC), or undefined. */
const dayStart = (day: string) => (day ? new Date(`${day}T00:00:00Z`).toISOString() : undefined);

function Records({ orgId }: { orgId: string }) {
  const members = useAsync(
    async () =>
      (
        await unwrap(
          api.GET("/api/v1/orgs/{org_id}/members", { params: { path: { org_id: orgId }, query: { limit: 200 } } }),
        )
      ).items,
    [orgId],
  );
  const emails = useMemo(() => new Map((members.data ?? []).map((m) => [m.user_id, m.email])), [members.data]);
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [older, setOlder] = useState<Record[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = useCallback(
    async (after: string | null) =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/audit-log", {
          params: {
            path: { org_id: orgId },
            query: {
              action: filters.action || undefined,
              actor: filters.actor || undefined,
              from: dayStart(filters.from),
              to: filters.to
                ? new Date(new Date(`${filters.to}T00:00:00Z`).getTime() + 86_400_000).toISOString()
                : undefined,
              cursor: after ?? undefined,
              limit: 50,
            },
          },
        }),
      ),
    [orgId, filters],
  );
  const first = useAsync(async () => {
    const page = await load(null);
    setOlder([]);
    setCursor(page.next_cursor ?? null);
    return page.items;
  }, [load]);
  const more = useAction(async () => {
    const page = await load(cursor);
    setOlder((rows) => [...rows, ...page.items]);
    setCursor(page.next_cursor ?? null);
  });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
  };
  const rows = [...(first.data ?? []), ...older];
  return (
    <Card title="Records">
      <form className="filters-form" onSubmit={apply} aria-label="Filter the audit log">
        <Field
          label="Action"
          placeholder="api_key.created, or api_key."
          value={draft.action}
          onChange={(e) => setDraft({ ...draft, action: e.target.value })}
        />
        <Field
          label="Actor"
          placeholder="user:<id> or api_key:<id>"
          value={draft.actor}
          onChange={(e) => setDraft({ ...draft, actor: e.target.value })}
        />
        <Field
          label="From"
          type="date"
          value={draft.from}
          onChange={(e) => setDraft({ ...draft, from: e.target.value })}
        />
        <Field label="To" type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        <div className="row">
          <Button type="submit">Apply</Button>
          <Button
            variant="ghost"
            onClick={() => {
              setDraft(NO_FILTERS);
              setFilters(NO_FILTERS);
            }}
          >
            Clear
          </Button>
        </div>
      </form>
      <ErrorNote error={first.error ?? more.error} />
      {!first.data && !first.error && <Loading />}
      {first.data && rows.length === 0 && <Empty>No records match.</Empty>}
      {rows.length > 0 && (
        <ul className="list audit-list">
          {rows.map((record) => (
            <AuditRow key={record.seq} record={record} emails={emails} />
          ))}
        </ul>
      )}
      {cursor && (
        <Button variant="secondary" busy={more.busy} onClick={() => void more.run()}>
          Load older records
        </Button>
      )}
    </Card>
  );
}

function actorLabel(actor: Record["actor"], emails: Map<string, string>) {
  if (actor.kind === "user") return emails.get(actor.id) ?? `user ${actor.id.slice(0, 8)}…`;
  if (actor.kind === "api_key") return `API key ${actor.id.slice(0, 8)}…`;
  return `${actor.kind}: ${actor.id}`;
}

const show = (value: unknown) => (value === undefined || value === null ? "—" : JSON.stringify(value));

function AuditRow({ record, emails }: { record: Record; emails: Map<string, string> }) {
  const changes = Object.entries(
    (record.changes ?? {}) as { [field: string]: { before?: unknown; after?: unknown; changed?: boolean } },
  );
  return (
    <li className="audit-row">
      <details>
        <summary>
          <span className="muted">{new Date(record.recorded_at).toLocaleString()}</span>{" "}
          <strong>{actorLabel(record.actor, emails)}</strong> <code>{record.action}</code>{" "}
          <span className="muted">
            {record.target_type}
            {record.target_id ? ` ${record.target_id.slice(0, 36)}` : ""}
          </span>
        </summary>
        {changes.length > 0 ? (
          <table className="diff">
            <caption className="visually-hidden">Changed fields</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {changes.map(([field, change]) => (
                <tr key={field}>
                  <th scope="row">{field}</th>
                  {change.changed ? (
                    <td colSpan={2}>changed (secret, not recorded)</td>
                  ) : (
                    <>
                      <td>{show(change.before)}</td>
                      <td>{show(change.after)}</td>
                    </>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No field changes recorded.</p>
        )}
        <p className="muted audit-meta">
          #{record.seq} · request {record.request_id ?? "—"} · IP {record.client_ip ?? "—"} ·{" "}
          {record.user_agent ?? "no user agent"} · hash <code>{record.hash.slice(0, 16)}…</code>
        </p>
      </details>
    </li>
  );
}

function Verification({ orgId }: { orgId: string }) {
  const [result, setResult] = useState<Schemas["AuditVerificationOut"] | null>(null);
  const verify = useAction(async () => {
    setResult(await unwrap(api.GET("/api/v1/orgs/{org_id}/audit-log/verify", { params: { path: { org_id: orgId } } })));
  });
  return (
    <Card
      title="Integrity"
      actions={
        <Button variant="secondary" busy={verify.busy} onClick={() => void verify.run()}>
          Verify the chain
        </Button>
      }
    >
      <ErrorNote error={verify.error} />
      {!result && (
        <p className="muted">
          Checks every record's hash and link, from the first (or the last retention checkpoint) to the newest.
        </p>
      )}
      {result?.intact && (
        <p className="banner banner-info" role="status">
          Intact: {result.checked} records checked
          {result.checkpoint_seq ? `, from the checkpoint at #${result.checkpoint_seq}` : ""}.
        </p>
      )}
      {result && !result.intact && (
        <p className="banner banner-bad" role="alert">
          Broken at record #{result.broken?.seq}: {result.broken?.fault.replaceAll("_", " ")}. {result.checked} records
          before it are intact.
        </p>
      )}
    </Card>
  );
}

function Export({ orgId }: { orgId: string }) {
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const href = (format: "csv" | "jsonl") => {
    const query = new URLSearchParams({ format });
    const start = dayStart(from);
    if (start) query.set("from", start);
    if (to) query.set("to", new Date(new Date(`${to}T00:00:00Z`).getTime() + 86_400_000).toISOString());
    return `/api/v1/orgs/${orgId}/audit-log/export?${query}`;
  };
  return (
    <Card title="Export">
      <div className="filters-form">
        <Field label="Export from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        <Field label="Export to" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
      </div>
      <div className="row">
        <a className="button button-secondary" href={href("csv")} download>
          Download CSV
        </a>
        <a className="button button-secondary" href={href("jsonl")} download>
          Download JSON Lines
        </a>
      </div>
    </Card>
  );
}

function Stream({ orgId }: { orgId: string }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const stream = useAsync(
    async () => (await unwrap(api.GET("/api/v1/orgs/{org_id}/audit-log/stream", { params: { path } }))).stream ?? null,
    [path],
  );
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const save = useAction(async (rotate: boolean) => {
    const saved = await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/audit-log/stream", {
        params: { path },
        body: { url: url || stream.data?.url || "", enabled: true, rotate_secret: rotate },
      }),
    );
    if (saved.secret) setSecret(saved.secret);
    stream.reload();
  });
  const remove = useAction(async () => {
    await unwrap(api.DELETE("/api/v1/orgs/{org_id}/audit-log/stream", { params: { path } }));
    setSecret(null);
    stream.reload();
  });
  const current = stream.data;
  return (
    <Card title="Stream to your SIEM">
      <p className="muted">
        Every record is POSTed in order to your HTTPS endpoint, signed with Standard Webhooks headers.
      </p>
      {secret && (
        <div className="secret">
          <p>Signing secret (shown once):</p>
          <pre className="snippet">
            <code data-testid="stream-secret">{secret}</code>
          </pre>
          <CopyButton text={secret} />
        </div>
      )}
      {current && (
        <dl className="facts">
          <dt>Endpoint</dt>
          <dd>{current.url}</dd>
          <dt>Status</dt>
          <dd>
            {current.enabled ? "delivering" : "off"} · delivered up to #{current.delivered_seq} of #{current.head_seq}
            {current.failures > 0
              ? ` · ${current.failures} failed attempts, next ${new Date(current.next_attempt_at).toLocaleString()}`
              : ""}
          </dd>
          {current.last_error && (
            <>
              <dt>Last error</dt>
              <dd>{current.last_error}</dd>
            </>
          )}
        </dl>
      )}
      <form
        className="stack-form"
        onSubmit={(event) => {
          event.preventDefault();
          void save.run(false);
        }}
      >
        <Field
          label="Endpoint URL"
          type="url"
          placeholder="https://siem.example.com/beacon"
          required={!current}
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
        <ErrorNote error={stream.error ?? save.error ?? remove.error} />
        <div className="row">
          <Button type="submit" busy={save.busy}>
            {current ? (current.enabled ? "Save" : "Save and turn on") : "Start streaming"}
          </Button>
          {current && (
            <>
              <Button variant="secondary" onClick={() => void save.run(true)}>
                Rotate secret
              </Button>
              <Button variant="danger" busy={remove.busy} onClick={() => void remove.run()}>
                Stop streaming
              </Button>
            </>
          )}
        </div>
      </form>
    </Card>
  );
}
