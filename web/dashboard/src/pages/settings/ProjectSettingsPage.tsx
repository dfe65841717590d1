// `/orgs/:org/projects/:project/settings`: name, domains and time zone (members), data
// retention and salt rotation (admins, because they delete or keep personal data), session
// replay (admins change it, members see it), and erasing the project (owners: seven days
// later, cancellable until then). Everyone manages their own e-mail reports here. Admins take a
// site domain another organization claimed into this project, by the DNS proof of a verified
// domain.
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, ErrorNote, Field, useAction } from "../../components/ui";
import { canAdmin, canWrite, isOwner } from "../../lib/roles";
import { EmailReports } from "./EmailReports";
import { ReplaySettings } from "./ReplaySettings";

export function ProjectSettingsPage() {
  const { role } = useProject();
  if (!canWrite(role)) {
    return (
      <>
        <Card title="Project settings">
          Your role ({role}) can view this project's reports, not change its settings.
        </Card>
        <EmailReports />
      </>
    );
  }
  return <ProjectSettingsForm />;
}

function ProjectSettingsForm() {
  const { project, role, reload } = useProject();
  const admin = canAdmin(role);
  const path = { org_id: project.org_id, project_id: project.id };
  const [name, setName] = useState(project.name);
  const [domains, setDomains] = useState(project.domains.join(", "));
  const [timezone, setTimezone] = useState(project.timezone);
  const [retention, setRetention] = useState(String(project.retention_days));
  const [rotation, setRotation] = useState(String(project.salt_rotation_hours));
  const [saved, setSaved] = useState(false);
  const [confirm, setConfirm] = useState("");
  const save = useAction(async () => {
    setSaved(false);
    const changes = {
      name,
      domains: domains
        .split(",")
        .map((d) => d.trim())
        .filter(Boolean),
      timezone,
      ...(admin ? { retention_days: Number(retention), salt_rotation_hours: Number(rotation) } : {}),
    };
    await unwrap(api.PATCH("/api/v1/orgs/{org_id}/projects/{project_id}", { params: { path }, body: changes }));
    setSaved(true);
    reload();
  });
  const remove = useAction(async () => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}", { params: { path }, body: { confirm_name: confirm } }),
    );
    setConfirm("");
    reload();
  });
  const cancelErasure = useAction(async () => {
    await unwrap(api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/erasure/cancel", { params: { path } }));
    reload();
  });
  return (
    <>
      <Card title="Project settings">
        <form
          className="stack-form"
          onSubmit={(event) => {
            event.preventDefault();
            void save.run();
          }}
        >
          <Field label="Name" required value={name} onChange={(e) => setName(e.target.value)} />
          <Field
            label="Domains"
            required
            hint="Comma-separated. The first one is the site id in the Stats API."
            value={domains}
            onChange={(e) => setDomains(e.target.value)}
          />
          <Field
            label="Time zone"
            required
            hint="IANA name; days and hours in reports follow it."
            value={timezone}
            onChange={(e) => setTimezone(e.target.value)}
          />
          {admin && (
            <>
              <Field
                label="Keep events for (days)"
                type="number"
                min={1}
                required
                value={retention}
                onChange={(e) => setRetention(e.target.value)}
                hint="Older events and rollups are deleted every night."
              />
              <Field
                label="Salt rotation (hours)"
                type="number"
                min={1}
                required
                value={rotation}
                onChange={(e) => setRotation(e.target.value)}
                hint="How long a visitor is recognised. Longer means better retention figures and less privacy."
              />
            </>
          )}
          <ErrorNote error={save.error} />
          {saved && <p role="status">Saved.</p>}
          <Button type="submit" busy={save.busy}>
            Save changes
          </Button>
        </form>
      </Card>
      <ReplaySettings orgId={project.org_id} projectId={project.id} admin={admin} />
      <EmailReports />
      {admin && <DomainTakeover orgId={project.org_id} projectId={project.id} onDone={reload} />}
      {isOwner(role) && project.erase_after && (
        <Card title="Erasure scheduled" className="danger-zone">
          <p>
            This project and all its data will be erased on{" "}
            <strong>{new Date(project.erase_after).toLocaleString()}</strong>. Until then, nothing is lost.
          </p>
          <ErrorNote error={cancelErasure.error} />
          <Button busy={cancelErasure.busy} onClick={() => void cancelErasure.run()}>
            Cancel the erasure
          </Button>
        </Card>
      )}
      {isOwner(role) && !project.erase_after && (
        <Card title="Erase project" className="danger-zone">
          <p>
            Erases the project and all its data (events, statistics, errors, goals) seven days from now. Any owner can
            cancel it until then.
          </p>
          <form
            className="inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              void remove.run();
            }}
          >
            <Field
              label={`Type ${project.name} to confirm`}
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
            />
            <Button type="submit" variant="danger" disabled={confirm !== project.name} busy={remove.busy}>
              Erase in seven days
            </Button>
          </form>
          <ErrorNote error={remove.error} />
        </Card>
      )}
    </>
  );
}

/** A site domain claimed by another organization's project, taken over by DNS proof. */
function DomainTakeover({ orgId, projectId, onDone }: { orgId: string; projectId: string; onDone: () => void }) {
  const [domain, setDomain] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const take = useAction(async () => {
    const out = await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/domains/{domain}/take-over", {
        params: { path: { org_id: orgId, project_id: projectId, domain: domain.trim() } },
      }),
    );
    setDone(
      `${out.domain} now belongs to this project (proved by ${out.proved_by})${
        out.taken_from_another_organization ? "; the organization that held it has been told" : ""
      }.`,
    );
    setDomain("");
    onDone();
  });
  return (
    <Card title="Domain claimed by someone else?">
      <p className="muted">
        If another organization added your site's domain to its project, verify the domain (or its parent) under the
        organization's Settings, then take it over here.
      </p>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void take.run();
        }}
      >
        <Field
          label="Site domain"
          placeholder="www.example.com"
          value={domain}
          onChange={(e) => setDomain(e.target.value)}
        />
        <Button type="submit" busy={take.busy} disabled={!domain.trim()}>
          Take over
        </Button>
      </form>
      <ErrorNote error={take.error} />
      {done && <p role="status">{done}</p>}
    </Card>
  );
}
