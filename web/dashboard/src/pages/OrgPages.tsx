// The start of a signed-in visit: choosing or creating an organization, and its projects.
import { useEffect, useState } from "react";
import { api, unwrap } from "../api/client";
import { Layout } from "../components/Layout";
import { Button, Card, Empty, ErrorNote, Field, Loading, useAction } from "../components/ui";
import { CHOSEN_PLAN_KEY } from "../lib/billing";
import { useOrg, useOrgs } from "../lib/orgs";
import { canWrite } from "../lib/roles";
import { Link, useRouter } from "../lib/router";
import { useAsync } from "../lib/useAsync";

/** `/`: the first organization, or creating one. */
export function HomePage() {
  const orgs = useOrgs();
  const { navigate } = useRouter();
  useEffect(() => {
    if (orgs.data?.length) navigate(`/orgs/${orgs.data[0].id}`, { replace: true });
  }, [orgs.data, navigate]);
  if (orgs.error)
    return (
      <Layout>
        <ErrorNote error={orgs.error} />
      </Layout>
    );
  if (!orgs.data)
    return (
      <Layout>
        <Loading />
      </Layout>
    );
  if (orgs.data.length === 0) return <CreateOrgPage first />;
  return (
    <Layout>
      <Loading />
    </Layout>
  );
}

export function CreateOrgPage({ first }: { first?: boolean }) {
  const orgs = useOrgs();
  const { navigate } = useRouter();
  const [name, setName] = useState("");
  const action = useAction(async () => {
    const org = await unwrap(api.POST("/api/v1/orgs", { body: { name } }));
    orgs.reload();
    const plan = localStorage.getItem(CHOSEN_PLAN_KEY);
    navigate(plan ? `/orgs/${org.id}/billing?plan=${encodeURIComponent(plan)}` : `/orgs/${org.id}`);
  });
  return (
    <Layout>
      <Card title={first ? "Create your organization" : "New organization"}>
        {first && <p>An organization holds your projects and the people who see them.</p>}
        <form
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            void action.run();
          }}
        >
          <Field
            label="Organization name"
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
          <Button type="submit" busy={action.busy}>
            Create organization
          </Button>
        </form>
        <ErrorNote error={action.error} />
      </Card>
    </Layout>
  );
}

function CreateProject({ orgId, onCreated }: { orgId: string; onCreated: (id: string) => void }) {
  const [name, setName] = useState("");
  const [domain, setDomain] = useState("");
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  const action = useAction(async () => {
    const project = await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects", {
        params: { path: { org_id: orgId } },
        body: { name, domains: [domain.trim()], timezone },
      }),
    );
    onCreated(project.id);
  });
  return (
    <Card title="New project">
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run();
        }}
      >
        <Field label="Project name" required value={name} onChange={(e) => setName(e.target.value)} />
        <Field
          label="Domain"
          required
          placeholder="example.com"
          hint="The site's domain, without https://"
          value={domain}
          onChange={(e) => setDomain(e.target.value)}
        />
        <Field
          label="Time zone"
          required
          value={timezone}
          onChange={(e) => setTimezone(e.target.value)}
          hint="IANA name, such as Europe/Berlin"
        />
        <Button type="submit" busy={action.busy}>
          Create project
        </Button>
      </form>
      <ErrorNote error={action.error} />
    </Card>
  );
}

/** `/orgs/:org`: the organization's projects. */
export function ProjectsPage({ orgId }: { orgId: string }) {
  const org = useOrg(orgId);
  const { navigate } = useRouter();
  const projects = useAsync(
    async () =>
      (
        await unwrap(
          api.GET("/api/v1/orgs/{org_id}/projects", { params: { path: { org_id: orgId }, query: { limit: 200 } } }),
        )
      ).items,
    [orgId],
  );
  return (
    <Layout orgId={orgId}>
      <h1>{org?.name ?? "Projects"}</h1>
      <Card title="Projects">
        <ErrorNote error={projects.error} />
        {projects.loading && !projects.data && <Loading />}
        {projects.data?.length === 0 && (
          <Empty>
            No projects yet.{org && canWrite(org.role) ? " Create one below to get your tracking snippet." : ""}
          </Empty>
        )}
        {projects.data && projects.data.length > 0 && (
          <ul className="list">
            {projects.data.map((project) => (
              <li key={project.id}>
                <Link to={`/orgs/${orgId}/projects/${project.id}`}>
                  <strong>{project.name}</strong>
                </Link>
                <span className="muted">{project.domains.join(", ")}</span>
              </li>
            ))}
          </ul>
        )}
      </Card>
      {org && canWrite(org.role) && (
        <CreateProject orgId={orgId} onCreated={(id) => navigate(`/orgs/${orgId}/projects/${id}/setup`)} />
      )}
    </Layout>
  );
}
