// `/orgs/:org/billing`: the plan and its status, usage per product this period with a
// month-end projection, what is over the plan's limits, and, for owners, the plans with
// upgrade (Stripe Checkout), manage (Customer Portal) and invoices. Hidden when billing is not
// configured on the instance.
import { useEffect, useMemo, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { Layout } from "../../components/Layout";
import { Button, Card, Empty, ErrorNote, Loading, useAction } from "../../components/ui";
import { type Billing, CHOSEN_PLAN_KEY, fetchBilling, forgetBilling, PRODUCT_NAMES } from "../../lib/billing";
import { useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

type PaidPlan = Schemas["PaidPlanDto"];
type Interval = Schemas["IntervalDto"];

const PAID: string[] = ["team", "business", "enterprise"];

const FEATURE_NAMES: Record<string, string> = {
  sso: "Single sign-on (SAML, OIDC)",
  scim: "SCIM provisioning",
  audit_log: "Audit log",
  custom_dashboards: "Custom dashboards",
  shared_links: "Shared links",
  task_board: "Task board",
  alerts: "Alerts",
  ai_summaries: "AI summaries",
  reports: "E-mail reports",
};

const money = (cents: number) =>
  (cents / 100).toLocaleString(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const amount = (n: number | null | undefined) => (n == null ? "Unlimited" : n.toLocaleString());

function Usage({ billing }: { billing: Billing }) {
  return (
    <Card title={`Usage, ${billing.period_start} to ${billing.period_end}`}>
      <ul className="usage-list">
        {billing.usage.map((usage) => {
          const share = usage.quota ? Math.min(1, usage.used / usage.quota) : 0;
          const name = PRODUCT_NAMES[usage.product] ?? usage.product;
          return (
            <li key={usage.product}>
              <div className="usage-line">
                <strong>{name}</strong>
                <span>
                  {usage.used.toLocaleString()} of {amount(usage.quota)}
                </span>
              </div>
              {usage.quota != null && (
                <div
                  className={`progress ${usage.blocked ? "progress-bad" : share >= 0.8 ? "progress-warn" : ""}`}
                  role="progressbar"
                  aria-label={`${name} used`}
                  aria-valuemin={0}
                  aria-valuemax={usage.quota}
                  aria-valuenow={Math.min(usage.used, usage.quota)}
                >
                  <span style={{ width: `${share * 100}%` }} />
                </div>
              )}
              <p className="muted">
                Projected by the end of the period: {usage.projected.toLocaleString()}.
                {usage.dropped > 0 && ` ${usage.dropped.toLocaleString()} refused over quota (not stored).`}
              </p>
            </li>
          );
        })}
      </ul>
    </Card>
  );
}

function PlanCard({
  plan,
  interval,
  current,
  chosen,
  onChoose,
  busy,
}: {
  plan: Schemas["PlanOut"];
  interval: Interval;
  current: boolean;
  chosen: boolean;
  onChoose?: () => void;
  busy: boolean;
}) {
  const cents = interval === "year" ? plan.year_cents : plan.month_cents;
  return (
    <section
      className={`plan-card ${current ? "plan-current" : ""} ${chosen ? "plan-chosen" : ""}`}
      aria-label={plan.name}
    >
      <h3>{plan.name}</h3>
      <p className="plan-price">
        {cents == null ? "Contact us" : money(cents)}
        {cents != null && cents > 0 && <span className="muted"> / {interval}</span>}
      </p>
      <ul>
        <li>{amount(plan.grants.events_per_month)} pageviews and events a month</li>
        <li>{amount(plan.grants.errors_per_month)} error events a month</li>
        <li>{amount(plan.grants.projects)} projects</li>
        <li>{amount(plan.grants.seats)} seats</li>
        {plan.grants.retention_days != null && <li>{plan.grants.retention_days} days of data</li>}
        {plan.grants.features.map((feature) => (
          <li key={feature}>{FEATURE_NAMES[feature] ?? feature}</li>
        ))}
      </ul>
      {current ? (
        <span className="badge">Current plan</span>
      ) : (
        onChoose && (
          <Button onClick={onChoose} busy={busy}>
            {chosen ? `Continue with ${plan.name}` : `Choose ${plan.name}`}
          </Button>
        )
      )}
    </section>
  );
}

function Invoices({ orgId }: { orgId: string }) {
  const invoices = useAsync(
    async () =>
      (await unwrap(api.GET("/api/v1/orgs/{org_id}/billing/invoices", { params: { path: { org_id: orgId } } }))).items,
    [orgId],
  );
  return (
    <Card title="Invoices">
      <ErrorNote error={invoices.error} />
      {!invoices.data && !invoices.error && <Loading />}
      {invoices.data?.length === 0 && <Empty>No invoices yet.</Empty>}
      {invoices.data && invoices.data.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Number</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {invoices.data.map((invoice) => (
                <tr key={invoice.id}>
                  <td>{invoice.created_at ? new Date(invoice.created_at).toLocaleDateString() : "—"}</td>
                  <td>
                    {invoice.hosted_invoice_url ? (
                      <a href={invoice.hosted_invoice_url}>{invoice.number ?? invoice.id}</a>
                    ) : (
                      (invoice.number ?? invoice.id)
                    )}
                  </td>
                  <td>
                    {(invoice.amount_due / 100).toLocaleString(undefined, {
                      style: "currency",
                      currency: invoice.currency.toUpperCase(),
                    })}
                  </td>
                  <td>{invoice.status ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

export function BillingPage({ orgId }: { orgId: string }) {
  const { search } = useRouter();
  const returned = search.get("checkout");
  const [chosen] = useState(() => search.get("plan") ?? localStorage.getItem(CHOSEN_PLAN_KEY) ?? "");
  const [interval, setInterval] = useState<Interval>("month");
  const [attempt, setAttempt] = useState(0);
  const billing = useAsync(() => fetchBilling(orgId, true), [orgId, attempt]);
  // Back from Checkout, the webhook may land a moment after the browser: look again briefly.
  const waiting = returned === "success" && billing.data && !PAID.includes(billing.data.plan) && attempt < 10;
  useEffect(() => {
    if (!waiting) return;
    const timer = setTimeout(() => setAttempt((n) => n + 1), 1000);
    return () => clearTimeout(timer);
  }, [waiting]);
  const checkout = useAction(async (plan: PaidPlan) => {
    const { url } = await unwrap(
      api.POST("/api/v1/orgs/{org_id}/billing/checkout", {
        params: { path: { org_id: orgId } },
        body: { plan, interval },
      }),
    );
    localStorage.removeItem(CHOSEN_PLAN_KEY);
    forgetBilling(orgId);
    window.location.assign(url);
  });
  const portal = useAction(async () => {
    const { url } = await unwrap(
      api.POST("/api/v1/orgs/{org_id}/billing/portal", { params: { path: { org_id: orgId } } }),
    );
    forgetBilling(orgId);
    window.location.assign(url);
  });
  const data = billing.data;
  const plans = useMemo(() => data?.plans ?? [], [data]);
  return (
    <Layout orgId={orgId}>
      <h1>Billing</h1>
      <ErrorNote error={billing.error ?? checkout.error ?? portal.error} />
      {!data && !billing.error && <Loading />}
      {data && !data.enabled && (
        <Card>
          <p>Billing is not configured on this Beacon: every organization has every feature, without limits.</p>
        </Card>
      )}
      {data?.enabled && (
        <>
          {returned === "success" && (
            <p className="note" role="status">
              {PAID.includes(data.plan)
                ? `Thank you: ${data.plan_name} is active.`
                : "Payment received; your plan is being activated…"}
            </p>
          )}
          {returned === "canceled" && (
            <p className="note" role="status">
              Checkout was canceled; nothing changed.
            </p>
          )}
          <Card
            title="Your plan"
            actions={
              data.can_manage && data.status !== "free" ? (
                <Button variant="secondary" onClick={() => void portal.run()} busy={portal.busy}>
                  Manage subscription
                </Button>
              ) : undefined
            }
          >
            <p className="plan-summary">
              <strong>{data.plan_name}</strong> <span className="badge">{data.status.replace("_", " ")}</span>
              {data.interval && <span className="muted"> billed every {data.interval}</span>}
            </p>
            {data.cancel_at_period_end && <p className="muted">Ends on {data.period_end}.</p>}
          </Card>
          <Usage billing={data} />
          {data.can_manage && (
            <Card
              title="Plans"
              actions={
                <fieldset className="segmented plain" aria-label="Billing interval">
                  {(["month", "year"] as Interval[]).map((value) => (
                    <button
                      key={value}
                      type="button"
                      aria-pressed={interval === value}
                      onClick={() => setInterval(value)}
                    >
                      {value === "month" ? "Monthly" : "Yearly"}
                    </button>
                  ))}
                </fieldset>
              }
            >
              <div className="plan-grid">
                {plans.map((plan) => (
                  <PlanCard
                    key={plan.id}
                    plan={plan}
                    interval={interval}
                    current={plan.id === data.plan}
                    chosen={plan.id === chosen}
                    busy={checkout.busy}
                    onChoose={PAID.includes(plan.id) ? () => void checkout.run(plan.id as PaidPlan) : undefined}
                  />
                ))}
              </div>
            </Card>
          )}
          {data.can_manage && <Invoices orgId={orgId} />}
        </>
      )}
    </Layout>
  );
}
