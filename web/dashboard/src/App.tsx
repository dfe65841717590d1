// Which screen the URL names, and the sign-in gate in front of the signed-in ones.
import { useEffect, type ReactNode } from "react";
import { ProjectFrame } from "./components/ProjectFrame";
import { Loading } from "./components/ui";
import { OrgsProvider } from "./lib/orgs";
import { matchPath, useRouter } from "./lib/router";
import { useSession } from "./lib/session";
import { AcceptInvitationPage, LoginPage, ResetPasswordPage, SignupPage, VerifyEmailPage } from "./pages/AuthPages";
import { DashboardPage } from "./pages/dashboard/DashboardPage";
import { GoalsPage } from "./pages/goals/GoalsPage";
import { CreateOrgPage, HomePage, ProjectsPage } from "./pages/OrgPages";
import { ApiKeysPage } from "./pages/settings/ApiKeysPage";
import { MembersPage } from "./pages/settings/MembersPage";
import { ProjectSettingsPage } from "./pages/settings/ProjectSettingsPage";
import { SetupPage } from "./pages/SetupPage";
import { IssuePage } from "./pages/errors/IssuePage";
import { IssuesPage } from "./pages/errors/IssuesPage";
import { VitalsPage } from "./pages/vitals/VitalsPage";
import { NotFoundPage } from "./pages/NotFoundPage";

const PUBLIC: Record<string, () => ReactNode> = {
  "/login": () => <LoginPage />,
  "/signup": () => <SignupPage />,
  "/verify-email": () => <VerifyEmailPage />,
  "/reset-password": () => <ResetPasswordPage />,
};

function SignedIn() {
  const { path } = useRouter();
  let params: Record<string, string> | null;
  if (path === "/") return <HomePage />;
  if (path === "/orgs/new") return <CreateOrgPage />;
  if ((params = matchPath("/orgs/:org", path))) return <ProjectsPage orgId={params.org} />;
  if ((params = matchPath("/orgs/:org/members", path))) return <MembersPage orgId={params.org} />;
  if ((params = matchPath("/orgs/:org/api-keys", path))) return <ApiKeysPage orgId={params.org} />;
  const screens: [string, (params: Record<string, string>) => ReactNode][] = [
    ["", () => <DashboardPage />],
    ["/goals", () => <GoalsPage />],
    ["/errors", () => <IssuesPage />],
    ["/errors/:issue", (p) => <IssuePage issueId={p.issue} />],
    ["/vitals", () => <VitalsPage />],
    ["/setup", () => <SetupPage />],
    ["/settings", () => <ProjectSettingsPage />],
  ];
  for (const [suffix, screen] of screens) {
    if ((params = matchPath(`/orgs/:org/projects/:project${suffix}`, path))) {
      return (
        <ProjectFrame orgId={params.org} projectId={params.project}>
          {screen(params)}
        </ProjectFrame>
      );
    }
  }
  return <NotFoundPage />;
}

export function App() {
  const { user, checking } = useSession();
  const { path, search, navigate } = useRouter();
  const publicPage = PUBLIC[path];
  const needsLogin = !checking && !user && !publicPage && path !== "/invitations/accept";
  useEffect(() => {
    if (needsLogin)
      navigate(`/login?next=${encodeURIComponent(path + (search.size ? `?${search}` : ""))}`, { replace: true });
  }, [needsLogin, navigate, path, search]);
  if (publicPage) return publicPage();
  if (checking) return <Loading />;
  if (path === "/invitations/accept") return <AcceptInvitationPage />;
  if (!user) return <Loading />;
  return (
    <OrgsProvider>
      <SignedIn />
    </OrgsProvider>
  );
}
