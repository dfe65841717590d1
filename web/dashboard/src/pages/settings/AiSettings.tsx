// The organization's AI insights card: whether the installation has an endpoint, the owner's
// switch, the monthly token budget, and this month's usage by feature.
import { useMemo, useState } from "react";
import { api, unwrap } from "../../api/client";
import { Button, Card, ErrorNote, Field, Loading, useAction } from "../../components/ui";
import { useAsync } from "../../lib/useAsync";

const FEATURES: Record<string, string> = {
  highlights: "Highlights",
  issue_explanation: "Error explanations",
  vitals_hints: "Web Vitals hints",
};

export function AiSettings({ orgId, owner }: { orgId: string; owner: boolean }) {
  const path = useMemo(() => ({ org_id: orgId }), [orgId]);
  const settings = useAsync(async () => unwrap(api.GET("/api/v1/orgs/{org_id}/ai", { params: { path } })), [path]);
  const [budget, setBudget] = useState<string | null>(null);
  const save = useAction(async (enabled: boolean) => {
    const tokens = budget === null ? undefined : Number(budget.replaceAll(",", ""));
    await unwrap(
      api.PUT("/api/v1/orgs/{org_id}/ai", { params: { path }, body: { enabled, monthly_token_budget: tokens } }),
    );
    setBudget(null);
    settings.reload();
  });
  const s = settings.data;
  return (
    <Card title="AI insights">
      <p className="muted">
        Weekly highlights, error explanations and Web Vitals hints written by AI from Beacon's figures. Only aggregates
        are sent (metric values, page paths, source names, error titles and counts; never visitors, IP addresses or
        events' payloads). Off until an owner switches them on.
      </p>
      <ErrorNote error={settings.error ?? save.error} />
      {!s && !settings.error && <Loading />}
      {s && (
        <>
          <p>
            {s.configured ? (
              <>
                Endpoint configured, model <strong>{s.model}</strong>.
              </>
            ) : (
              <>
                No AI endpoint is configured for this installation (<code>BEACON_AI_BASE_URL</code>): highlights are
                Beacon's own statistical summary.
              </>
            )}{" "}
            {!s.plan_allows && "Your plan does not include AI summaries."}
          </p>
          <p data-testid="ai-state">
            AI insights are <strong>{s.enabled ? "on" : "off"}</strong>. This month:{" "}
            <strong>{s.used_this_month.toLocaleString()}</strong> of {s.monthly_token_budget.toLocaleString()} tokens.
          </p>
          {s.usage.length > 0 && (
            <ul className="list" aria-label="AI usage this month">
              {s.usage.map((u) => (
                <li key={u.feature}>
                  {FEATURES[u.feature] ?? u.feature}: {u.requests.toLocaleString()}{" "}
                  {u.requests === 1 ? "answer" : "answers"}, {(u.prompt_tokens + u.completion_tokens).toLocaleString()}{" "}
                  tokens
                </li>
              ))}
            </ul>
          )}
          {owner && (
            <div className="row">
              <Field
                label="Monthly token budget"
                inputMode="numeric"
                value={budget ?? String(s.monthly_token_budget)}
                onChange={(e) => setBudget(e.target.value)}
              />
              <Button busy={save.busy} onClick={() => void save.run(!s.enabled)}>
                {s.enabled ? "Switch AI off" : "Switch AI on"}
              </Button>
              {budget !== null && (
                <Button variant="secondary" busy={save.busy} onClick={() => void save.run(s.enabled)}>
                  Save budget
                </Button>
              )}
            </div>
          )}
        </>
      )}
    </Card>
  );
}
