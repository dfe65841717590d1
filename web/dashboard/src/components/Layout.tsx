// The frame around every signed-in screen: brand, organization switcher, navigation, theme
// and account controls. Collapses to two rows on a phone.
import { type ReactNode, useState } from "react";
import { billingBanners, useBilling } from "../lib/billing";
import { useOrgs } from "../lib/orgs";
import { canAdmin, canWrite, isOwner } from "../lib/roles";
import { Link, useRouter } from "../lib/router";
import { useSession } from "../lib/session";
import { applyTheme, savedTheme, type ThemeChoice } from "../lib/theme";
import { InboxLink } from "./InboxLink";

function ThemeSwitch() {
  const [choice, setChoice] = useState<ThemeChoice>(savedTheme);
  return (
    <label className="theme-switch">
      <span className="visually-hidden">Theme</span>
      <select
        value={choice}
        onChange={(event) => {
          const next = event.target.value as ThemeChoice;
          applyTheme(next);
          setChoice(next);
          window.dispatchEvent(new Event("beacon-theme"));
        }}
      >
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

function OrgSwitcher({ orgId }: { orgId?: string }) {
  const orgs = useOrgs();
  const { navigate } = useRouter();
  if (!orgs.data || orgs.data.length === 0) return null;
  return (
    <label className="org-switch">
      <span className="visually-hidden">Organization</span>
      <select
        value={orgId ?? ""}
        onChange={(event) => navigate(event.target.value === "new" ? "/orgs/new" : `/orgs/${event.target.value}`)}
      >
        {!orgId && <option value="">Choose an organization</option>}
        {orgs.data.map((org) => (
          <option key={org.id} value={org.id}>
            {org.name}
          </option>
        ))}
        <option value="new">+ New organization</option>
      </select>
    </label>
  );
}

export function Layout({ orgId, children }: { orgId?: string; children: ReactNode }) {
  const { user, signOut } = useSession();
  const org = useOrgs().data?.find((o) => o.id === orgId);
  const billing = useBilling(org?.id);
  const { path } = useRouter();
  const nav = org
    ? [
        { to: `/orgs/${org.id}`, label: "Projects" },
        { to: `/orgs/${org.id}/members`, label: "Members" },
        { to: `/orgs/${org.id}/channels`, label: "Channels" },
        ...(canWrite(org.role) ? [{ to: `/orgs/${org.id}/shared-links`, label: "Shared links" }] : []),
        ...(canAdmin(org.role) ? [{ to: `/orgs/${org.id}/api-keys`, label: "API keys" }] : []),
        ...(canAdmin(org.role) ? [{ to: `/orgs/${org.id}/audit-log`, label: "Audit log" }] : []),
        ...(billing?.can_manage ? [{ to: `/orgs/${org.id}/billing`, label: "Billing" }] : []),
        ...(canAdmin(org.role) ? [{ to: `/orgs/${org.id}/sso`, label: "Single sign-on" }] : []),
        ...(canAdmin(org.role) ? [{ to: `/orgs/${org.id}/settings`, label: "Settings" }] : []),
      ]
    : [];
  const banners = [
    ...(org?.erase_after
      ? [
          {
            tone: "bad" as const,
            text: `This organization will be erased on ${new Date(org.erase_after).toLocaleString()}. ${
              isOwner(org.role) ? "You can cancel it in Settings." : "Its owners can cancel it."
            }`,
          },
        ]
      : []),
    ...(billing ? billingBanners(billing) : []),
  ];
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span className="brand-dot" aria-hidden="true" /> Beacon
        </Link>
        <OrgSwitcher orgId={orgId} />
        <nav aria-label="Organization">
          {nav.map((item) => (
            <Link key={item.to} to={item.to} aria-current={path === item.to ? "page" : undefined}>
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="topbar-end">
          {org && <InboxLink orgId={org.id} />}
          <ThemeSwitch />
          <span className="user-email">{user?.email}</span>
          <button type="button" className="button button-ghost" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="content">
        {banners.map((banner) => (
          <p key={banner.text} className={`banner banner-${banner.tone}`} role="status">
            {banner.text}
          </p>
        ))}
        {children}
      </main>
    </>
  );
}
