// The organization's billing (plan, status, usage), fetched once per organization and kept for
// half a minute, so every page's layout can show the billing banners without a request each.
import { useEffect, useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";

export type Billing = Schemas["BillingOut"];

/** The plan a visitor chose before signing up (`/signup?plan=team`), until used. */
export const CHOSEN_PLAN_KEY = "beacon.chosenPlan";

const KEEP_MS = 30_000;
const cache = new Map<string, { at: number; value: Promise<Billing> }>();

/** The billing of `orgId`, from the cache while it is fresh. */
export function fetchBilling(orgId: string, fresh = false): Promise<Billing> {
  const cached = cache.get(orgId);
  if (!fresh && cached && Date.now() - cached.at < KEEP_MS) return cached.value;
  const value = unwrap(api.GET("/api/v1/orgs/{org_id}/billing", { params: { path: { org_id: orgId } } }));
  cache.set(orgId, { at: Date.now(), value });
  value.catch(() => cache.delete(orgId));
  return value;
}

/** Forgets what is cached (after a plan change). */
export function forgetBilling(orgId: string): void {
  cache.delete(orgId);
}

/** The billing of `orgId` for a component (undefined while loading or when it failed). */
export function useBilling(orgId: string | undefined): Billing | undefined {
  const [billing, setBilling] = useState<Billing>();
  useEffect(() => {
    if (!orgId) return;
    let live = true;
    fetchBilling(orgId).then(
      (value) => live && setBilling(value),
      () => live && setBilling(undefined),
    );
    return () => {
      live = false;
    };
  }, [orgId]);
  return billing;
}

/** Human names of the billed products. */
export const PRODUCT_NAMES: Record<string, string> = {
  events: "Pageviews and custom events",
  errors: "Error events",
  replays: "Session replays",
};

/** The banners an organization's billing calls for, most urgent first. */
export function billingBanners(billing: Billing): { tone: "bad" | "warn" | "info"; text: string }[] {
  if (!billing.enabled) return [];
  const out: { tone: "bad" | "warn" | "info"; text: string }[] = [];
  const day = (iso: string) => new Date(iso).toLocaleDateString();
  if (billing.restricted) {
    out.push({
      tone: "bad",
      text: "Payment is overdue: features above the Free plan are off until it is paid. Dashboards stay readable and data keeps arriving.",
    });
  } else if (billing.status === "past_due" && billing.grace_ends_at) {
    out.push({
      tone: "warn",
      text: `The last payment failed. Everything keeps working until ${day(billing.grace_ends_at)}; update the payment method before then.`,
    });
  }
  for (const usage of billing.usage) {
    const name = PRODUCT_NAMES[usage.product] ?? usage.product;
    if (usage.blocked) {
      out.push({
        tone: "bad",
        text: `${name} are over this period's quota and are not being stored (${usage.dropped.toLocaleString()} refused so far).`,
      });
    } else if (usage.over_since) {
      out.push({
        tone: "warn",
        text: `${name} are over this period's quota; they are still stored for 7 days from ${day(usage.over_since)}.`,
      });
    }
  }
  if (billing.status === "trialing" && billing.trial_end) {
    out.push({ tone: "info", text: `Your ${billing.plan_name} trial ends on ${day(billing.trial_end)}.` });
  }
  for (const over of billing.over) {
    out.push({
      tone: "warn",
      text: `The ${billing.plan_name} plan allows ${over.limit} ${over.what}; ${over.used} are in use.${over.what === "projects" ? " Projects past the limit are read-only." : ""}`,
    });
  }
  return out;
}
