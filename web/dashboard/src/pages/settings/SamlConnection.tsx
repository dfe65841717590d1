// The SAML card of `/orgs/:org/sso`: Beacon's SP metadata URL and ACS URL to give the identity
// provider, and (owners) the IdP's metadata — by URL or pasted — with the signing certificate
// to pin, the attribute names, IdP-initiated sign-in, a test sign-in and removal.
import { useMemo, useState } from "react";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { Button, Card, CopyButton, ErrorNote, Field, Select, TextArea, useAction } from "../../components/ui";
import { GRANTED_ROLES, type GrantedRole } from "../../lib/roles";

type Sso = components["schemas"]["SsoOut"];

export function SamlConnection({
  sso,
  orgId,
  owner,
  onSaved,
}: {
  sso: Sso;
  orgId: string;
  owner: boolean;
  onSaved: () => void;
}) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const current = sso.saml;
  const [metadataUrl, setMetadataUrl] = useState(current?.metadata_url ?? "");
  const [metadataXml, setMetadataXml] = useState("");
  const [pin, setPin] = useState("");
  const [emailAttribute, setEmailAttribute] = useState(current?.email_attribute ?? "");
  const [groupsAttribute, setGroupsAttribute] = useState(current?.groups_attribute ?? "");
  const [idpInitiated, setIdpInitiated] = useState(current?.allow_idp_initiated ?? false);
  const [role, setRole] = useState<GrantedRole>(current?.default_role ?? "member");
  const [enabled, setEnabled] = useState(current?.enabled ?? true);
  const save = useAction(async () => {
    // A pasted document wins; an unchanged URL of a saved connection keeps what was read.
    const unchangedUrl = current && metadataUrl === (current.metadata_url ?? "") && !metadataXml.trim();
    await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/sso/saml", {
        params: { path },
        body: {
          metadata_url: metadataXml.trim() || unchangedUrl ? undefined : metadataUrl || undefined,
          metadata_xml: metadataXml.trim() || undefined,
          certificate_sha256: pin.trim() || undefined,
          email_attribute: emailAttribute || undefined,
          groups_attribute: groupsAttribute || undefined,
          allow_idp_initiated: idpInitiated,
          default_role: role,
          enabled,
        },
      }),
    );
    setMetadataXml("");
    setPin("");
    onSaved();
  });
  const test = useAction(async () => {
    const started = await unwrap(api.POST("/api/v1/orgs/{org_id}/sso/saml/test", { params: { path } }));
    window.location.assign(started.redirect_url);
  });
  const remove = useAction(async () => {
    await unwrap(api.DELETE("/api/v1/orgs/{org_id}/sso/saml", { params: { path } }));
    onSaved();
  });
  return (
    <Card title="SAML 2.0">
      <p className="muted">
        Give your identity provider Beacon's metadata URL (or its entity ID and ACS URL), then enter the provider's
        metadata. Beacon pins the provider's signing certificate when you save, and takes only responses it signed.
      </p>
      {sso.saml_metadata_url && (
        <p>
          SP metadata URL and entity ID: <code data-testid="saml-metadata-url">{sso.saml_metadata_url}</code>{" "}
          <CopyButton text={sso.saml_metadata_url} />
        </p>
      )}
      {sso.saml_acs_url && (
        <p>
          ACS URL (HTTP-POST): <code>{sso.saml_acs_url}</code> <CopyButton text={sso.saml_acs_url} />
        </p>
      )}
      {current && (
        <dl className="facts" aria-label="SAML identity provider">
          <div className="span-2">
            <dt>IdP entity ID</dt>
            <dd>
              <code className="long-value">{current.idp_entity_id}</code>
            </dd>
          </div>
          <div className="span-2">
            <dt>Sign-on URL</dt>
            <dd>
              <code className="long-value">{current.sso_url}</code>
            </dd>
          </div>
          <div className="span-2">
            <dt>Pinned certificates (SHA-256)</dt>
            <dd>
              {current.pinned_sha256.map((fingerprint) => (
                <code key={fingerprint} className="fingerprint long-value">
                  {fingerprint}
                </code>
              ))}
            </dd>
          </div>
        </dl>
      )}
      <form
        className="stack-form"
        aria-label="SAML connection"
        onSubmit={(event) => {
          event.preventDefault();
          void save.run();
        }}
      >
        <fieldset className="plain" disabled={!owner}>
          <Field
            label="IdP metadata URL"
            type="url"
            placeholder="https://idp.example.com/metadata"
            value={metadataUrl}
            onChange={(e) => setMetadataUrl(e.target.value)}
          />
          <TextArea
            label="Or paste the IdP metadata XML"
            rows={4}
            hint={current ? "Leave both empty to keep the metadata read before" : undefined}
            value={metadataXml}
            onChange={(e) => setMetadataXml(e.target.value)}
          />
          <Field
            label="Pin one certificate (SHA-256 fingerprint)"
            hint="Optional: without it, every signing certificate in the metadata is trusted"
            value={pin}
            onChange={(e) => setPin(e.target.value)}
          />
          <Field
            label="E-mail attribute"
            hint="Leave empty when the NameID is the e-mail address"
            placeholder="email"
            value={emailAttribute}
            onChange={(e) => setEmailAttribute(e.target.value)}
          />
          <Field
            label="Groups attribute"
            hint="Maps the provider's groups to roles below"
            value={groupsAttribute}
            onChange={(e) => setGroupsAttribute(e.target.value)}
          />
          <Select label="Role of new members" value={role} onChange={(e) => setRole(e.target.value as GrantedRole)}>
            {GRANTED_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </Select>
          <label className="check-label">
            <input type="checkbox" checked={idpInitiated} onChange={(e) => setIdpInitiated(e.target.checked)} /> Accept
            IdP-initiated sign-in (from the provider's app dashboard; off is safer)
          </label>
          <label className="check-label">
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
          </label>
        </fieldset>
        <ErrorNote error={save.error ?? test.error ?? remove.error} />
        {owner ? (
          <div className="row">
            <Button type="submit" busy={save.busy}>
              Save SAML connection
            </Button>
            {current && (
              <>
                <Button variant="secondary" busy={test.busy} onClick={() => void test.run()}>
                  Test SAML connection
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
