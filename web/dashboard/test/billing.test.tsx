import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Layout } from "../src/components/Layout";
import { type Billing, billingBanners, forgetBilling } from "../src/lib/billing";
import { OrgsProvider } from "../src/lib/orgs";
import { Router } from "../src/lib/router";
import { SessionProvider } from "../src/lib/session";
import { json, respondWith } from "./setup";

const usage = (product: string, extra: Partial<Billing["usage"][number]> = {}) => ({
  product,
  used: 0,
  quota: 10_000,
  dropped: 0,
  over_since: null,
  blocked: false,
  projected: 0,
  ...extra,
});

const billing = (extra: Partial<Billing> = {}): Billing => ({
  enabled: true,
  plan: "team",
  plan_name: "Team",
  status: "active",
  interval: "month",
  period_start: "2026-11-01",
  period_end: "2026-11-30",
  trial_end: null,
  past_due_since: null,
  grace_ends_at: null,
  restricted: false,
  cancel_at_period_end: false,
  entitlements: { projects: 10, seats: 10, audit_retention_days: 365, features: [] },
  usage: [usage("events"), usage("errors")],
  over: [],
  plans: [],
  can_manage: true,
  ...extra,
});

describe("billing banners", () => {
  it("say nothing without billing or when all is well", () => {
    expect(billingBanners(billing({ enabled: false, status: "past_due", restricted: true }))).toEqual([]);
    expect(billingBanners(billing())).toEqual([]);
  });

  it("name the grace period, the restriction, the quota states and the trial", () => {
    const pastDue = billingBanners(
      billing({ status: "past_due", past_due_since: "2026-11-10T00:00:00Z", grace_ends_at: "2026-11-17T00:00:00Z" }),
    );
    expect(pastDue).toHaveLength(1);
    expect(pastDue[0].tone).toBe("warn");
    expect(pastDue[0].text).toContain("payment failed");
    const restricted = billingBanners(billing({ status: "past_due", restricted: true }));
    expect(restricted[0]).toMatchObject({ tone: "bad" });
    expect(restricted[0].text).toContain("features above the Free plan are off");
    const quotas = billingBanners(
      billing({
        usage: [
          usage("events", { used: 12_000, over_since: "2026-11-20T00:00:00Z", blocked: true, dropped: 1234 }),
          usage("errors", { used: 11_000, over_since: "2026-11-25T00:00:00Z" }),
        ],
      }),
    );
    expect(quotas.map((b) => b.tone)).toEqual(["bad", "warn"]);
    expect(quotas[0].text).toContain("Pageviews and custom events are over");
    expect(quotas[0].text).toContain("1,234 refused");
    expect(quotas[1].text).toContain("still stored for 7 days");
    const trial = billingBanners(billing({ status: "trialing", trial_end: "2026-12-10T00:00:00Z" }));
    expect(trial).toEqual([{ tone: "info", text: expect.stringContaining("Your Team trial ends on") }]);
    const over = billingBanners(
      billing({ plan: "free", plan_name: "Free", over: [{ what: "projects", limit: 2, used: 5 }] }),
    );
    expect(over[0].text).toContain("allows 2 projects; 5 are in use. Projects past the limit are read-only.");
  });

  for (const [enabled, canManage, links] of [
    [true, true, 1],
    [true, false, 0],
    [false, false, 0],
  ] as const) {
    it(`show the Billing link ${links ? "" : "not "}when billing is ${enabled ? "on" : "off"} and the user ${canManage ? "may" : "may not"} manage it`, async () => {
      forgetBilling("o1");
      respondWith((request) => {
        const path = new URL(request.url).pathname;
        if (path === "/api/v1/auth/session")
          return json({ user: { id: "u", email: "o@x.y", email_verified: true }, csrf_token: "t" });
        if (path === "/api/v1/orgs/o1/billing")
          return json(
            billing({ enabled, can_manage: canManage, status: "trialing", trial_end: "2026-12-10T00:00:00Z" }),
          );
        return json({
          items: [{ id: "o1", name: "Acme", role: "owner", created_at: "2026-11-22T00:00:00Z" }],
          next_cursor: null,
        });
      });
      render(
        <Router>
          <SessionProvider>
            <OrgsProvider>
              <Layout orgId="o1">content</Layout>
            </OrgsProvider>
          </SessionProvider>
        </Router>,
      );
      await screen.findByRole("link", { name: "Members" });
      if (enabled) await screen.findByText(/Your Team trial ends on/);
      expect(screen.queryAllByRole("link", { name: "Billing" })).toHaveLength(links);
    });
  }
});
