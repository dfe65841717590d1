// The frame of a project's screens: the project's name and its tabs. Loads the project
// once for all of them.
import { createContext, type ReactNode, useContext } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { useOrg, useOrgs } from "../lib/orgs";
import { canWrite, isOwner } from "../lib/roles";
import { Link, useRouter } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import { Layout } from "./Layout";
import { ErrorNote, Loading } from "./ui";

interface ProjectView {
  project: Schemas["ProjectOut"];
  role: string;
  reload: () => void;
}

/** The project of the screens inside a frame (tests provide one directly). */
export const ProjectContext = createContext<ProjectView | null>(null);

export function useProject(): ProjectView {
  const view = useContext(ProjectContext);
  if (!view) throw new Error("useProject outside <ProjectFrame>");
  return view;
}

export function ProjectFrame({
  orgId,
  projectId,
  children,
}: {
  orgId: string;
  projectId: string;
  children: ReactNode;
}) {
  const org = useOrg(orgId);
  const orgs = useOrgs();
  const { path } = useRouter();
  const project = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}", {
          params: { path: { org_id: orgId, project_id: projectId } },
        }),
      ),
    [orgId, projectId],
  );
  const base = `/orgs/${orgId}/projects/${projectId}`;
  const tabs = [
    { to: base, label: "Dashboard" },
    { to: `${base}/dashboards`, label: "Dashboards" },
    { to: `${base}/goals`, label: "Goals & funnels" },
    { to: `${base}/errors`, label: "Errors" },
    { to: `${base}/replays`, label: "Replays" },
    { to: `${base}/heatmaps`, label: "Heatmaps" },
    { to: `${base}/tasks`, label: "Tasks" },
    { to: `${base}/vitals`, label: "Web Vitals" },
    { to: `${base}/alerts`, label: "Alerts" },
    { to: `${base}/activity`, label: "Activity" },
    { to: `${base}/setup`, label: "Tracking code" },
    ...(org && canWrite(org.role) ? [{ to: `${base}/settings`, label: "Settings" }] : []),
  ];
  return (
    <Layout orgId={orgId}>
      <div className="project-head">
        <h1>{project.data?.name ?? "Project"}</h1>
        {project.data && <span className="muted">{project.data.domains.join(", ")}</span>}
      </div>
      {project.data?.erase_after && (
        <p className="banner banner-bad" role="status">
          This project and all its data will be erased on {new Date(project.data.erase_after).toLocaleString()}.{" "}
          {isOwner(org?.role ?? "") ? "You can cancel it in its settings." : "The organization's owners can cancel it."}
        </p>
      )}
      <nav className="tabs" aria-label="Project">
        {tabs.map((tab) => (
          <Link
            key={tab.to}
            to={tab.to}
            aria-current={path === tab.to || (tab.to !== base && path.startsWith(`${tab.to}/`)) ? "page" : undefined}
          >
            {tab.label}
          </Link>
        ))}
      </nav>
      <ErrorNote error={project.error ?? orgs.error} />
      {((!project.data && !project.error) || (!org && orgs.loading)) && <Loading />}
      {project.data && !org && !orgs.loading && !orgs.error && (
        <ErrorNote error={new Error("You are not a member of this project's organization.")} />
      )}
      {project.data && org && (
        <ProjectContext.Provider value={{ project: project.data, role: org.role, reload: project.reload }}>
          {children}
        </ProjectContext.Provider>
      )}
    </Layout>
  );
}
