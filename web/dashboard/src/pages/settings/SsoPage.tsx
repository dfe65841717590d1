// `/orgs/:org/sso`: single sign-on. Admins read it; owners connect the identity provider
// (OIDC here, SAML in `SamlConnection`), test the connection (the provider's answer is shown here), require SSO for members,
// map the provider's groups to roles, and make the SCIM tokens it provisions members with.
// Verified domains are on the organization's settings.
import { useEffect, useMemo, useState } from "react";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { Layout } from "../../components/Layout";
import { Button, Card, CopyButton, Empty, ErrorNote, Field, Loading, Select, useAction } from "../../components/ui";
import { useOrg } from "../../lib/orgs";
import { canAdmin, GRANTED_ROLES, type GrantedRole, isOwner } from "../../lib/roles";
import { Link, useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";
import { SamlConnection } from "./SamlConnection";

type Sso = components["schemas"]["SsoOut"];

export function SsoPage({ orgId }: { orgId: string }) {
  const org = useOrg(orgId);
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const sso = useAsync(async () => unwrap(api.GET("/api/v1/orgs/{org_id}/sso", { params: { path } })), [path]);
  if (!org || (!sso.data && !sso.error))
    return (
      <Layout orgId={orgId}>
        <Loading />
      </Layout>
    );
  if (!canAdmin(org.role)) {
    return (
      <Layout orgId={orgId}>
        <h1>Single sign-on</h1>
        <Card>Only admins and owners see the organization's single sign-on. Your role is {org.role}.</Card>
      </Layout>
    );
  }
  const owner = isOwner(org.role);
  return (
    <Layout orgId={orgId}>
      <h1>Single sign-on</h1>
      <ErrorNote error={sso.error} />
      {sso.data && (
        <>
          <TestResult orgId={orgId} />
          <Domains sso={sso.data} orgId={orgId} />
          <Connection sso={sso.data} orgId={orgId} owner={owner} onSaved={sso.reload} />
          <SamlConnection sso={sso.data} orgId={orgId} owner={owner} onSaved={sso.reload} />
          <Policy sso={sso.data} orgId={orgId} owner={owner} onSaved={sso.reload} />
          <GroupRoles sso={sso.data} orgId={orgId} owner={owner} onSaved={sso.reload} />
          {owner && <ScimTokens orgId={orgId} />}
        </>
      )}
    </Layout>
  );
}

function Domains({ sso, orgId }: { sso: Sso; orgId: string }) {
  return (
    <Card title="Verified domains">
      {sso.verified_domains.length === 0 ? (
        <Empty>
          No verified domain yet. Single sign-on works for addresses of verified domains:{" "}
          <Link to={`/orgs/${orgId}/settings`}>verify one in Settings</Link>.
        </Empty>
      ) : (
        <p>
          People whose address ends in{" "}
          {sso.verified_domains.map((d, i) => (
            <span key={d}>
              {i > 0 && ", "}
              <strong>@{d}</strong>
            </span>
          ))}{" "}
          are sent to the identity provider when they choose "Continue with SSO".
        </p>
      )}
    </Card>
  );
}

function Connection({ sso, orgId, owner, onSaved }: { sso: Sso; orgId: string; owner: boolean; onSaved: () => void }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const current = sso.oidc;
  const [issuer, setIssuer] = useState(current?.issuer ?? "");
  const [clientId, setClientId] = useState(current?.client_id ?? "");
  const [secret, setSecret] = useState("");
  const [scopes, setScopes] = useState((current?.scopes ?? ["email", "profile"]).join(" "));
  const [emailClaim, setEmailClaim] = useState(current?.email_claim ?? "email");
  const [groupsClaim, setGroupsClaim] = useState(current?.groups_claim ?? "");
  const [role, setRole] = useState<GrantedRole>(current?.default_role ?? "member");
  const [enabled, setEnabled] = useState(current?.enabled ?? true);
  const save = useAction(async () => {
    await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/sso/oidc", {
        params: { path },
        body: {
          issuer,
          client_id: clientId,
          client_secret: secret || undefined,
          scopes: scopes.split(/\s+/).filter(Boolean),
          email_claim: emailClaim,
          groups_claim: groupsClaim || undefined,
          default_role: role,
          enabled,
        },
      }),
    );
    setSecret("");
    onSaved();
  });
  const test = useAction(async () => {
    const started = await unwrap(api.POST("/api/v1/orgs/{org_id}/sso/oidc/test", { params: { path } }));
    window.location.assign(started.redirect_url);
  });
  const remove = useAction(async () => {
    await unwrap(api.DELETE("/api/v1/orgs/{org_id}/sso/oidc", { params: { path } }));
    onSaved();
  });
  return (
    <Card title="OpenID Connect">
      <p className="muted">
        Register this redirect URL at your identity provider (Okta, Entra ID, Google Workspace, Keycloak…), then enter
        its issuer and the client it gave you.
      </p>
      {sso.oidc_redirect_url && (
        <p>
          Redirect URL: <code>{sso.oidc_redirect_url}</code> <CopyButton text={sso.oidc_redirect_url} />
        </p>
      )}
      <form
        className="stack-form"
        aria-label="OIDC connection"
        onSubmit={(event) => {
          event.preventDefault();
          void save.run();
        }}
      >
        <fieldset className="plain" disabled={!owner}>
          <Field
            label="Issuer URL"
            type="url"
            required
            placeholder="https://login.example.com"
            value={issuer}
            onChange={(e) => setIssuer(e.target.value)}
          />
          <Field label="Client ID" required value={clientId} onChange={(e) => setClientId(e.target.value)} />
          <Field
            label="Client secret"
            type="password"
            autoComplete="off"
            required={!current}
            placeholder={current?.has_client_secret ? "Stored — leave empty to keep it" : ""}
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
          />
          <Field
            label="Scopes"
            hint="Besides openid, separated by spaces"
            value={scopes}
            onChange={(e) => setScopes(e.target.value)}
          />
          <Field label="E-mail claim" value={emailClaim} onChange={(e) => setEmailClaim(e.target.value)} />
          <Field
            label="Groups claim"
            hint="Maps the provider's groups to roles below; leave empty to give everyone the default role"
            value={groupsClaim}
            onChange={(e) => setGroupsClaim(e.target.value)}
          />
          <Select label="Role of new members" value={role} onChange={(e) => setRole(e.target.value as GrantedRole)}>
            {GRANTED_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </Select>
          <label className="check-label">
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
          </label>
        </fieldset>
        <ErrorNote error={save.error ?? test.error ?? remove.error} />
        {owner ? (
          <div className="row">
            <Button type="submit" busy={save.busy}>
              Save connection
            </Button>
            {current && (
              <>
                <Button variant="secondary" busy={test.busy} onClick={() => void test.run()}>
                  Test connection
                </Button>
                <Button variant="danger" busy={remove.busy} onClick={() => void remove.run()}>
                  Remove
                </Button>
              </>
            )}
          </div>
        ) : (
          <p className="muted">Only owners change the connection.</p>
        )}
      </form>
    </Card>
  );
}

/** What the provider sent back to a test sign-in (`?sso_test=<id>` after the round trip). */
function TestResult({ orgId }: { orgId: string }) {
  const { search } = useRouter();
  const testId = search.get("sso_test");
  const [result, setResult] = useState<components["schemas"]["TestOut"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!testId) return;
    unwrap(
      api.GET("/api/v1/orgs/{org_id}/sso/tests/{test_id}", { params: { path: { org_id: orgId, test_id: testId } } }),
    ).then(setResult, setError);
  }, [orgId, testId]);
  if (!testId) return null;
  return (
    <Card title="Connection test">
      <ErrorNote error={error} />
      {!result && !error && <Loading />}
      {result && !result.complete && <p>The provider has not sent the browser back yet.</p>}
      {result?.complete && (
        <>
          <p role="status">
            {result.ok ? "The provider signed you in. This is what it sent:" : "The sign-in failed at the provider:"}
          </p>
          <pre className="code-block" data-testid="sso-test-outcome">
            {JSON.stringify(result.outcome, null, 2)}
          </pre>
        </>
      )}
    </Card>
  );
}

function Policy({ sso, orgId, owner, onSaved }: { sso: Sso; orgId: string; owner: boolean; onSaved: () => void }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const [enforced, setEnforced] = useState(sso.policy.enforced);
  const [hours, setHours] = useState(String(sso.policy.session_hours));
  const save = useAction(async () => {
    await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/sso/policy", {
        params: { path },
        body: { enforced, session_hours: Number(hours) },
      }),
    );
    onSaved();
  });
  return (
    <Card title="Policy">
      <form
        className="stack-form"
        aria-label="SSO policy"
        onSubmit={(event) => {
          event.preventDefault();
          void save.run();
        }}
      >
        <fieldset className="plain" disabled={!owner}>
          <label className="check-label">
            <input type="checkbox" checked={enforced} onChange={(e) => setEnforced(e.target.checked)} /> Require single
            sign-on for members (owners keep their password, as the way back in if the provider fails)
          </label>
          <Field
            label="SSO session length (hours)"
            type="number"
            min={1}
            max={720}
            value={hours}
            onChange={(e) => setHours(e.target.value)}
          />
        </fieldset>
        <ErrorNote error={save.error} />
        {owner && (
          <Button type="submit" busy={save.busy}>
            Save policy
          </Button>
        )}
      </form>
    </Card>
  );
}

function GroupRoles({ sso, orgId, owner, onSaved }: { sso: Sso; orgId: string; owner: boolean; onSaved: () => void }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const [rows, setRows] = useState(sso.group_roles.map((r) => ({ group: r.group, role: r.role })));
  const save = useAction(async () => {
    await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/sso/group-roles", {
        params: { path },
        body: { mappings: rows.filter((r) => r.group.trim()) },
      }),
    );
    onSaved();
  });
  const set = (i: number, change: Partial<{ group: string; role: GrantedRole }>) =>
    setRows((all) => all.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <Card title="Groups and roles">
      <p className="muted">
        A person in a listed group gets its role at every sign-in (the highest, when in several). Nobody becomes an
        owner this way.
      </p>
      {rows.length === 0 && <Empty>No group mapped: new members get the connection's default role.</Empty>}
      <ul className="list" aria-label="Group mappings">
        {rows.map((row, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id until saved
          <li key={i} className="inline-form">
            <Field
              label="Group"
              disabled={!owner}
              value={row.group}
              onChange={(e) => set(i, { group: e.target.value })}
            />
            <Select
              label="Role"
              disabled={!owner}
              value={row.role}
              onChange={(e) => set(i, { role: e.target.value as GrantedRole })}
            >
              {GRANTED_ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </Select>
            {owner && (
              <Button variant="ghost" onClick={() => setRows((all) => all.filter((_, j) => j !== i))}>
                Remove
              </Button>
            )}
          </li>
        ))}
      </ul>
      <ErrorNote error={save.error} />
      {owner && (
        <div className="row">
          <Button variant="secondary" onClick={() => setRows((all) => [...all, { group: "", role: "member" }])}>
            Add a group
          </Button>
          <Button busy={save.busy} onClick={() => void save.run()}>
            Save groups
          </Button>
        </div>
      )}
    </Card>
  );
}

/** SCIM tokens (owners): made (the secret shown once), listed, revoked. */
function ScimTokens({ orgId }: { orgId: string }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const tokens = useAsync(
    async () => (await unwrap(api.GET("/api/v1/orgs/{org_id}/scim/tokens", { params: { path } }))).items,
    [path],
  );
  const [name, setName] = useState("");
  const [made, setMade] = useState<components["schemas"]["ScimTokenCreated"] | null>(null);
  const create = useAction(async () => {
    setMade(await unwrap(api.POST("/api/v1/orgs/{org_id}/scim/tokens", { params: { path }, body: { name } })));
    setName("");
    tokens.reload();
  });
  const revoke = useAction(async (tokenId: string) => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/scim/tokens/{token_id}", {
        params: { path: { ...path, token_id: tokenId } },
      }),
    );
    tokens.reload();
  });
  return (
    <Card title="SCIM provisioning">
      <p className="muted">
        Your identity provider adds, changes and removes members through SCIM 2.0 with a token. Members it manages are
        changed there, not in Beacon; deactivating someone removes them and ends their sessions at once.
      </p>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void create.run();
        }}
      >
        <Field label="Token name" placeholder="Okta" value={name} onChange={(e) => setName(e.target.value)} />
        <Button type="submit" busy={create.busy} disabled={!name.trim()}>
          Create token
        </Button>
      </form>
      {made && (
        <div role="status">
          <p>Copy the token now; it is not shown again.</p>
          <p>
            SCIM URL: <code>{made.scim_url}</code> {made.scim_url && <CopyButton text={made.scim_url} />}
          </p>
          <p>
            Token: <code data-testid="scim-secret">{made.secret}</code> <CopyButton text={made.secret} />
          </p>
        </div>
      )}
      <ErrorNote error={create.error ?? revoke.error ?? tokens.error} />
      {tokens.data && tokens.data.length === 0 && <Empty>No tokens yet.</Empty>}
      {tokens.data && tokens.data.length > 0 && (
        <ul className="list" aria-label="SCIM tokens">
          {tokens.data.map((token) => (
            <li key={token.id}>
              <span>
                <strong>{token.name}</strong>{" "}
                <span className="muted">
                  made {new Date(token.created_at).toLocaleDateString()}
                  {token.last_used_at && ` · last used ${new Date(token.last_used_at).toLocaleString()}`}
                  {token.revoked_at && ` · revoked ${new Date(token.revoked_at).toLocaleDateString()}`}
                </span>
              </span>
              {!token.revoked_at && (
                <Button variant="ghost" aria-label={`Revoke ${token.name}`} onClick={() => void revoke.run(token.id)}>
                  Revoke
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
