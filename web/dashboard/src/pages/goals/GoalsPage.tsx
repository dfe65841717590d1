// `/orgs/:org/projects/:project/goals`: goals with their conversions, funnels, and the
// weekly retention cohorts.
import { useMemo, useState } from "react";
import { api, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, Empty, ErrorNote, Field, Loading, Select, useAction } from "../../components/ui";
import { formatNumber, formatPercent } from "../../lib/format";
import { canWrite } from "../../lib/roles";
import { useAsync } from "../../lib/useAsync";
import { Funnels } from "./Funnels";
import { Retention } from "./Retention";

function CreateGoal({ onCreated }: { onCreated: () => void }) {
  const { project } = useProject();
  const [kind, setKind] = useState<"event" | "page">("event");
  const [name, setName] = useState("");
  const [target, setTarget] = useState("");
  const [currency, setCurrency] = useState("");
  const action = useAction(async () => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/goals", {
        params: { path: { org_id: project.org_id, project_id: project.id } },
        body: {
          name: name || undefined,
          ...(kind === "event" ? { event_name: target } : { page_path: target }),
          currency: currency || undefined,
        },
      }),
    );
    setName("");
    setTarget("");
    setCurrency("");
    onCreated();
  });
  return (
    <form
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run();
      }}
    >
      <Select label="Goal type" value={kind} onChange={(e) => setKind(e.target.value as "event" | "page")}>
        <option value="event">Custom event</option>
        <option value="page">Pageview</option>
      </Select>
      <Field
        label={kind === "event" ? "Event name" : "Page path"}
        required
        placeholder={kind === "event" ? "Signup" : "/thank-you"}
        value={target}
        onChange={(e) => setTarget(e.target.value)}
      />
      <Field label="Display name (optional)" value={name} onChange={(e) => setName(e.target.value)} />
      {kind === "event" && (
        <Field
          label="Revenue currency (optional)"
          placeholder="EUR"
          maxLength={3}
          value={currency}
          onChange={(e) => setCurrency(e.target.value.toUpperCase())}
        />
      )}
      <Button type="submit" busy={action.busy}>
        Add goal
      </Button>
      <ErrorNote error={action.error} />
    </form>
  );
}

export function GoalsPage() {
  const { project, role } = useProject();
  const path = useMemo(() => ({ org_id: project.org_id, project_id: project.id }), [project.org_id, project.id]);
  const goals = useAsync(
    () => unwrap(api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/goals", { params: { path } })),
    [path],
  );
  const conversions = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/goals/conversions", {
          params: { path, query: { period: "30d" } },
        }),
      ),
    [path, goals.data],
  );
  const remove = useAction(async (goalId: string) => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/goals/{goal_id}", {
        params: { path: { ...path, goal_id: goalId } },
      }),
    );
    goals.reload();
  });
  const writable = canWrite(role);
  const byGoal = new Map((conversions.data?.goals ?? []).map((c) => [c.goal_id, c]));
  return (
    <>
      <Card title="Goals (last 30 days)">
        <ErrorNote error={goals.error ?? conversions.error ?? remove.error} />
        {!goals.data && !goals.error && <Loading />}
        {goals.data?.length === 0 && (
          <Empty>No goals yet. A goal counts visitors who sent a custom event or reached a page.</Empty>
        )}
        {goals.data && goals.data.length > 0 && (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Goal</th>
                  <th scope="col">Matches</th>
                  <th scope="col" className="num">
                    Visitors
                  </th>
                  <th scope="col" className="num">
                    Conversion
                  </th>
                  <th scope="col" className="num">
                    Revenue
                  </th>
                  {writable && (
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {goals.data.map((goal) => {
                  const c = byGoal.get(goal.id);
                  return (
                    <tr key={goal.id}>
                      <td>{goal.name}</td>
                      <td className="muted">
                        {goal.event_name ? `event ${goal.event_name}` : `page ${goal.page_path}`}
                      </td>
                      <td className="num">{c ? formatNumber(c.visitors) : "–"}</td>
                      <td className="num">{c ? formatPercent(c.conversion_rate) : "–"}</td>
                      <td className="num">{c?.revenue ? `${c.revenue} ${goal.currency ?? ""}` : "–"}</td>
                      {writable && (
                        <td>
                          <Button
                            variant="ghost"
                            aria-label={`Delete goal ${goal.name}`}
                            onClick={() => void remove.run(goal.id)}
                          >
                            Delete
                          </Button>
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {writable && <CreateGoal onCreated={goals.reload} />}
      </Card>
      <Funnels goals={goals.data ?? []} />
      <Retention />
    </>
  );
}
