// `/orgs/:org/settings`: the organization's verified e-mail domains and AI insights (admins and
// owners; owners switch AI on), and taking all its data out or erasing it (owners). Erasure waits seven days, during which any
// owner can cancel it; every member sees a banner meanwhile.
import { useMemo, useState } from "react";
import { api, unwrap } from "../../api/client";
import { Layout } from "../../components/Layout";
import { Button, Card, Empty, ErrorNote, Field, Loading, useAction } from "../../components/ui";
import { useOrg, useOrgs } from "../../lib/orgs";
import { canAdmin, isOwner } from "../../lib/roles";
import { useAsync } from "../../lib/useAsync";
import { AiSettings } from "./AiSettings";

export function OrgSettingsPage({ orgId }: { orgId: string }) {
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
        <h1>Organization settings</h1>
        <Card>Only admins and owners change the organization's settings. Your role is {org.role}.</Card>
      </Layout>
    );
  }
  return (
    <Layout orgId={orgId}>
      <h1>Organization settings</h1>
      <Domains orgId={orgId} />
      <AiSettings orgId={orgId} owner={isOwner(org.role)} />
      {isOwner(org.role) && (
        <>
          <DataExport orgId={orgId} />
          <Erasure orgId={orgId} name={org.name} eraseAfter={org.erase_after ?? null} />
        </>
      )}
    </Layout>
  );
}

const bytes = (n: number) =>
  n < 1_048_576 ? `${Math.max(1, Math.round(n / 1024))} KB` : `${(n / 1_048_576).toFixed(1)} MB`;

function DataExport({ orgId }: { orgId: string }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const exports = useAsync(
    async () => (await unwrap(api.GET("/api/v1/orgs/{org_id}/exports", { params: { path } }))).items,
    [path],
  );
  const request = useAction(async () => {
    await unwrap(api.POST("/api/v1/orgs/{org_id}/exports", { params: { path } }));
    exports.reload();
  });
  return (
    <Card
      title="Export all data"
      actions={
        <Button busy={request.busy} onClick={() => void request.run()}>
          Export all data
        </Button>
      }
    >
      <p className="muted">
        An archive of everything Beacon stores for this organization: every table as JSON Lines, the members, and the
        hourly statistics as CSV. The download link is e-mailed to you and works for seven days.
      </p>
      <ErrorNote error={request.error ?? exports.error} />
      {exports.data && exports.data.length === 0 && <Empty>No exports yet.</Empty>}
      {exports.data && exports.data.length > 0 && (
        <ul className="list" aria-label="Exports">
          {exports.data.map((item) => (
            <li key={item.id}>
              <span>
                {new Date(item.created_at).toLocaleString()} ·{" "}
                <strong>
                  {item.status === "pending"
                    ? "being written"
                    : item.status === "ready"
                      ? "ready: the link is in your inbox"
                      : "failed: ask again"}
                </strong>
                {item.size_bytes != null && <span className="muted"> · {bytes(item.size_bytes)}</span>}
                {item.expires_at && (
                  <span className="muted"> · link works until {new Date(item.expires_at).toLocaleDateString()}</span>
                )}
              </span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function Erasure({ orgId, name, eraseAfter }: { orgId: string; name: string; eraseAfter: string | null }) {
  const orgs = useOrgs();
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const [confirm, setConfirm] = useState("");
  const erase = useAction(async () => {
    await unwrap(api.DELETE("/api/v1/orgs/{org_id}", { params: { path }, body: { confirm_name: confirm } }));
    setConfirm("");
    orgs.reload();
  });
  const cancel = useAction(async () => {
    await unwrap(api.POST("/api/v1/orgs/{org_id}/erasure/cancel", { params: { path } }));
    orgs.reload();
  });
  if (eraseAfter) {
    return (
      <Card title="Erasure scheduled" className="danger-zone">
        <p>
          Every project, statistic, error, member and record of <strong>{name}</strong> will be erased on{" "}
          <strong>{new Date(eraseAfter).toLocaleString()}</strong>. Until then, nothing is lost.
        </p>
        <ErrorNote error={cancel.error} />
        <Button busy={cancel.busy} onClick={() => void cancel.run()}>
          Cancel the erasure
        </Button>
      </Card>
    );
  }
  return (
    <Card title="Erase the organization" className="danger-zone">
      <p>
        Deletes everything of <strong>{name}</strong> seven days from now: projects, statistics, errors, members, keys
        and the audit log. Any owner can cancel it until then. Export the data first if you want to keep it.
      </p>
      <form
        className="stack-form"
        onSubmit={(event) => {
          event.preventDefault();
          void erase.run();
        }}
      >
        <Field
          label={`Type the organization's name (${name}) to confirm`}
          value={confirm}
          autoComplete="off"
          onChange={(e) => setConfirm(e.target.value)}
        />
        <ErrorNote error={erase.error} />
        <Button type="submit" variant="danger" busy={erase.busy} disabled={confirm !== name}>
          Erase in seven days
        </Button>
      </form>
    </Card>
  );
}

function Domains({ orgId }: { orgId: string }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const domains = useAsync(
    async () => (await unwrap(api.GET("/api/v1/orgs/{org_id}/domains", { params: { path } }))).items,
    [path],
  );
  const [domain, setDomain] = useState("");
  const add = useAction(async () => {
    await unwrap(api.POST("/api/v1/orgs/{org_id}/domains", { params: { path }, body: { domain } }));
    setDomain("");
    domains.reload();
  });
  const verify = useAction(async (name: string) => {
    try {
      await unwrap(
        api.POST("/api/v1/orgs/{org_id}/domains/{domain}/verify", { params: { path: { ...path, domain: name } } }),
      );
    } finally {
      domains.reload();
    }
  });
  const remove = useAction(async (name: string) => {
    await unwrap(api.DELETE("/api/v1/orgs/{org_id}/domains/{domain}", { params: { path: { ...path, domain: name } } }));
    domains.reload();
  });
  return (
    <Card title="Verified domains">
      <p className="muted">
        Prove that the organization controls an e-mail domain with a DNS TXT record; single sign-on will use it. One
        domain belongs to one organization.
      </p>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void add.run();
        }}
      >
        <Field label="Domain" placeholder="example.com" value={domain} onChange={(e) => setDomain(e.target.value)} />
        <Button type="submit" busy={add.busy} disabled={!domain.trim()}>
          Add domain
        </Button>
      </form>
      <ErrorNote error={add.error ?? verify.error ?? remove.error ?? domains.error} />
      {domains.data && domains.data.length === 0 && <Empty>No domains yet.</Empty>}
      {domains.data && domains.data.length > 0 && (
        <ul className="list" aria-label="Domains">
          {domains.data.map((item) => (
            <li key={item.domain}>
              <span>
                <strong>{item.domain}</strong>{" "}
                {item.verified ? (
                  <span className="badge">verified</span>
                ) : (
                  <>
                    <span className="muted">not verified yet: add a TXT record on {item.txt_name} with</span>{" "}
                    <code data-testid="txt-value">{item.txt_value}</code>
                  </>
                )}
                {item.last_error && <span className="muted"> · last check: {item.last_error}</span>}
              </span>
              <span className="row">
                {!item.verified && (
                  <Button variant="secondary" busy={verify.busy} onClick={() => void verify.run(item.domain)}>
                    Check now
                  </Button>
                )}
                <Button
                  variant="ghost"
                  aria-label={`Remove ${item.domain}`}
                  onClick={() => void remove.run(item.domain)}
                >
                  Remove
                </Button>
              </span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
