// `/orgs/:org/api-keys` (admins): keys for the Stats API and server-side ingestion. A new
// key's secret is shown once; Beacon stores only its hash.
import { useMemo, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { Layout } from "../../components/Layout";
import { Button, Card, CopyButton, Empty, ErrorNote, Field, Loading, useAction } from "../../components/ui";
import { useOrg } from "../../lib/orgs";
import { canAdmin } from "../../lib/roles";
import { useAsync } from "../../lib/useAsync";

type Scope = Schemas["ScopeDto"];
const SCOPES: { value: Scope; label: string }[] = [
  { value: "read", label: "Read stats" },
  { value: "write", label: "Manage projects" },
  { value: "ingest", label: "Send events" },
  { value: "admin", label: "Administer" },
];

export function ApiKeysPage({ orgId }: { orgId: string }) {
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
        <h1>API keys</h1>
        <Card>Only admins manage API keys. Your role is {org.role}.</Card>
      </Layout>
    );
  }
  return <ApiKeysAdmin orgId={orgId} />;
}

function ApiKeysAdmin({ orgId }: { orgId: string }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const keys = useAsync(
    async () =>
      (await unwrap(api.GET("/api/v1/orgs/{org_id}/api-keys", { params: { path, query: { limit: 200 } } }))).items,
    [path],
  );
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["read"]);
  const [secret, setSecret] = useState<string | null>(null);
  const create = useAction(async () => {
    const created = await unwrap(
      api.POST("/api/v1/orgs/{org_id}/api-keys", { params: { path }, body: { name, scopes } }),
    );
    setSecret(created.secret);
    setName("");
    keys.reload();
  });
  const revoke = useAction(async (id: string) => {
    await unwrap(api.DELETE("/api/v1/orgs/{org_id}/api-keys/{key_id}", { params: { path: { ...path, key_id: id } } }));
    keys.reload();
  });
  const active = keys.data?.filter((key) => !key.revoked_at) ?? [];
  return (
    <Layout orgId={orgId}>
      <h1>API keys</h1>
      {secret && (
        <Card title="Your new key" className="secret">
          <p>Copy it now: it is shown only once.</p>
          <pre className="snippet">
            <code data-testid="api-key-secret">{secret}</code>
          </pre>
          <div className="row">
            <CopyButton text={secret} />
            <Button variant="secondary" onClick={() => setSecret(null)}>
              I have saved it
            </Button>
          </div>
        </Card>
      )}
      <Card title="Create a key">
        <form
          className="stack-form"
          onSubmit={(event) => {
            event.preventDefault();
            void create.run();
          }}
        >
          <Field label="Key name" required value={name} onChange={(e) => setName(e.target.value)} />
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((scope) => (
              <label key={scope.value} className="check-label">
                <input
                  type="checkbox"
                  checked={scopes.includes(scope.value)}
                  onChange={(e) =>
                    setScopes(e.target.checked ? [...scopes, scope.value] : scopes.filter((s) => s !== scope.value))
                  }
                />
                {scope.label}
              </label>
            ))}
          </fieldset>
          <ErrorNote error={create.error} />
          <Button type="submit" busy={create.busy} disabled={scopes.length === 0}>
            Create key
          </Button>
        </form>
      </Card>
      <Card title="Active keys">
        <ErrorNote error={keys.error ?? revoke.error} />
        {!keys.data && !keys.error && <Loading />}
        {keys.data && active.length === 0 && <Empty>No active keys.</Empty>}
        {active.length > 0 && (
          <ul className="list">
            {active.map((key) => (
              <li key={key.id}>
                <span>
                  <strong>{key.name}</strong> <code>{key.prefix}…</code>{" "}
                  <span className="muted">{key.scopes.join(", ")}</span>
                  <span className="muted">
                    {" "}
                    · {key.last_used_at ? `used ${new Date(key.last_used_at).toLocaleDateString()}` : "never used"}
                  </span>
                </span>
                <Button variant="ghost" aria-label={`Revoke ${key.name}`} onClick={() => void revoke.run(key.id)}>
                  Revoke
                </Button>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </Layout>
  );
}
