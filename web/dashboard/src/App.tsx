// Which screen the URL names, and the sign-in gate in front of the signed-in ones.
import { lazy, type ReactNode, Suspense, useEffect } from "react";
import { ProjectFrame } from "./components/ProjectFrame";
import { Loading } from "./components/ui";
import { OrgsProvider } from "./lib/orgs";
import { matchPath, useRouter } from "./lib/router";
import { useSession } from "./lib/session";
import {
  AcceptInvitationPage,
  LoginPage,
  ResetPasswordPage,
  SignupPage,
  UnsubscribePage,
  VerifyEmailPage,
} from "./pages/AuthPages";
import { ActivityPage } from "./pages/activity/ActivityPage";
import { AlertPage } from "./pages/alerts/AlertPage";
import { AlertsPage } from "./pages/alerts/AlertsPage";
import { BillingPage } from "./pages/billing/BillingPage";
import { BoardPage } from "./pages/boards/BoardPage";
import { DashboardsPage } from "./pages/boards/DashboardsPage";
import { DashboardPage } from "./pages/dashboard/DashboardPage";
import { IssuePage } from "./pages/errors/IssuePage";
import { IssuesPage } from "./pages/errors/IssuesPage";
import { GoalsPage } from "./pages/goals/GoalsPage";
import { InboxPage } from "./pages/inbox/InboxPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { CreateOrgPage, HomePage, ProjectsPage } from "./pages/OrgPages";
import { ReplaysPage } from "./pages/replays/ReplaysPage";
import { SetupPage } from "./pages/SetupPage";
import { ApiKeysPage } from "./pages/settings/ApiKeysPage";
import { AuditLogPage } from "./pages/settings/AuditLogPage";
import { ChannelsPage } from "./pages/settings/ChannelsPage";
import { MembersPage } from "./pages/settings/MembersPage";
import { OrgSettingsPage } from "./pages/settings/OrgSettingsPage";
import { ProjectSettingsPage } from "./pages/settings/ProjectSettingsPage";
import { SsoPage } from "./pages/settings/SsoPage";
import { SharedLinksPage } from "./pages/shared/SharedLinksPage";
import { SharedPage } from "./pages/shared/SharedPage";
import { TaskBoardPage } from "./pages/tasks/TaskBoardPage";
import { VitalsPage } from "./pages/vitals/VitalsPage";

// The recorded-page screens (the player, the heatmaps) and rrweb, which they load in turn, stay
// out of the first page's scripts.
const ReplayPage = lazy(() => import("./pages/replays/ReplayPage").then((m) => ({ default: m.ReplayPage })));
const HeatmapsPage = lazy(() => import("./pages/heatmaps/HeatmapsPage").then((m) => ({ default: m.HeatmapsPage })));

const PUBLIC: Record<string, () => ReactNode> = {
  "/login": () => <LoginPage />,
  "/signup": () => <SignupPage />,
  "/verify-email": () => <VerifyEmailPage />,
  "/reset-password": () => <ResetPasswordPage />,
  "/unsubscribe": () => <UnsubscribePage />,
};

/** A screen, given the parameters its pattern matched. */
type Screen = (params: Record<string, string>) => ReactNode;

/** A project's screens, by the path after `/orgs/:org/projects/:project`, inside its frame. */
const PROJECT_SCREENS: [string, Screen][] = [
  ["", () => <DashboardPage />],
  ["/dashboards", () => <DashboardsPage />],
  ["/dashboards/:dashboard", (p) => <BoardPage dashboardId={p.dashboard} />],
  ["/goals", () => <GoalsPage />],
  ["/activity", () => <ActivityPage />],
  ["/errors", () => <IssuesPage />],
  ["/errors/:issue", (p) => <IssuePage issueId={p.issue} />],
  ["/replays", () => <ReplaysPage />],
  // Keyed: another recording is a new player, opening at its own `?t=`.
  [
    "/replays/:replay",
    (p) => (
      <Suspense fallback={<Loading />}>
        <ReplayPage key={p.replay} replayId={p.replay} />
      </Suspense>
    ),
  ],
  [
    "/heatmaps",
    () => (
      <Suspense fallback={<Loading />}>
        <HeatmapsPage />
      </Suspense>
    ),
  ],
  ["/tasks", () => <TaskBoardPage />],
  ["/vitals", () => <VitalsPage />],
  ["/alerts", () => <AlertsPage />],
  ["/alerts/:alert", (p) => <AlertPage alertId={p.alert} />],
  ["/setup", () => <SetupPage />],
  ["/settings", () => <ProjectSettingsPage />],
];

/** Every signed-in screen by its path pattern; the first match wins. */
const SIGNED_IN: [string, Screen][] = [
  ["/", () => <HomePage />],
  ["/orgs/new", () => <CreateOrgPage />],
  ["/orgs/:org", (p) => <ProjectsPage orgId={p.org} />],
  ["/orgs/:org/members", (p) => <MembersPage orgId={p.org} />],
  ["/orgs/:org/api-keys", (p) => <ApiKeysPage orgId={p.org} />],
  ["/orgs/:org/billing", (p) => <BillingPage orgId={p.org} />],
  ["/orgs/:org/audit-log", (p) => <AuditLogPage orgId={p.org} />],
  ["/orgs/:org/settings", (p) => <OrgSettingsPage orgId={p.org} />],
  ["/orgs/:org/sso", (p) => <SsoPage orgId={p.org} />],
  ["/orgs/:org/channels", (p) => <ChannelsPage orgId={p.org} />],
  ["/orgs/:org/shared-links", (p) => <SharedLinksPage orgId={p.org} />],
  ["/orgs/:org/inbox", (p) => <InboxPage orgId={p.org} />],
  ...PROJECT_SCREENS.map(([suffix, screen]): [string, Screen] => [
    `/orgs/:org/projects/:project${suffix}`,
    (p) => (
      <ProjectFrame orgId={p.org} projectId={p.project}>
        {screen(p)}
      </ProjectFrame>
    ),
  ]),
];

function SignedIn() {
  const { path } = useRouter();
  for (const [pattern, screen] of SIGNED_IN) {
    const params = matchPath(pattern, path);
    if (params) return screen(params);
  }
  return <NotFoundPage />;
}

export function App() {
  const { user, checking } = useSession();
  const { path, search, navigate } = useRouter();
  const publicPage = PUBLIC[path];
  const shared = path.startsWith("/share/");
  const needsLogin = !checking && !user && !publicPage && !shared && path !== "/invitations/accept";
  useEffect(() => {
    if (needsLogin)
      navigate(`/login?next=${encodeURIComponent(path + (search.size ? `?${search}` : ""))}`, { replace: true });
  }, [needsLogin, navigate, path, search]);
  if (publicPage) return publicPage();
  if (path.startsWith("/share/")) return <SharedPage token={decodeURIComponent(path.slice("/share/".length))} />;
  if (checking) return <Loading />;
  if (path === "/invitations/accept") return <AcceptInvitationPage />;
  if (!user) return <Loading />;
  return (
    <OrgsProvider>
      <SignedIn />
    </OrgsProvider>
  );
}
