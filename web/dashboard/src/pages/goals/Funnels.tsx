// Funnels: a builder (2–8 goals in order) and, for the chosen funnel, how many visitors
// reached each step and where they dropped off.
import { useMemo, useRef, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { CommentThread } from "../../components/CommentThread";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, Empty, ErrorNote, Field, Loading, Select, useAction } from "../../components/ui";
import { formatNumber, formatPercent } from "../../lib/format";
import { canWrite } from "../../lib/roles";
import { Link } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

function FunnelBuilder({ goals, onCreated }: { goals: Schemas["GoalOut"][]; onCreated: () => void }) {
  const { project } = useProject();
  const [name, setName] = useState("");
  // Each step keeps its id when another is removed, so React keeps its select (and focus).
  const nextId = useRef(0);
  const newStep = () => ({ id: nextId.current++, goal: "" });
  const [steps, setSteps] = useState(() => [newStep(), newStep()]);
  const action = useAction(async () => {
    await unwrap(
      api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/funnels", {
        params: { path: { org_id: project.org_id, project_id: project.id } },
        body: { name, steps: steps.map((step) => step.goal).filter(Boolean) },
      }),
    );
    setName("");
    setSteps([newStep(), newStep()]);
    onCreated();
  });
  if (goals.length < 2) return <p className="muted">A funnel needs at least two goals. Add them above.</p>;
  return (
    <form
      className="funnel-builder"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run();
      }}
    >
      <Field label="Funnel name" required value={name} onChange={(e) => setName(e.target.value)} />
      <ol>
        {steps.map((step, index) => (
          <li key={step.id}>
            <Select
              label={`Step ${index + 1}`}
              required
              value={step.goal}
              onChange={(e) => setSteps(steps.map((s) => (s.id === step.id ? { ...s, goal: e.target.value } : s)))}
            >
              <option value="">Choose a goal</option>
              {goals.map((goal) => (
                <option key={goal.id} value={goal.id}>
                  {goal.name}
                </option>
              ))}
            </Select>
            {steps.length > 2 && (
              <Button
                variant="ghost"
                aria-label={`Remove step ${index + 1}`}
                onClick={() => setSteps(steps.filter((s) => s.id !== step.id))}
              >
                Remove
              </Button>
            )}
          </li>
        ))}
      </ol>
      <div className="row">
        {steps.length < 8 && (
          <Button variant="secondary" onClick={() => setSteps([...steps, newStep()])}>
            Add step
          </Button>
        )}
        <Button type="submit" busy={action.busy}>
          Create funnel
        </Button>
      </div>
      <ErrorNote error={action.error} />
    </form>
  );
}

function FunnelChart({ funnelId }: { funnelId: string }) {
  const { project } = useProject();
  const report = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/funnels/{funnel_id}/report", {
          params: {
            path: { org_id: project.org_id, project_id: project.id, funnel_id: funnelId },
            query: { period: "30d" },
          },
        }),
      ),
    [project.org_id, project.id, funnelId],
  );
  if (report.error) return <ErrorNote error={report.error} />;
  if (!report.data) return <Loading />;
  const first = Math.max(1, report.data.steps[0]?.visitors ?? 0);
  return (
    <ol className="funnel-chart" aria-label={`Funnel ${report.data.funnel.name}, last 30 days`}>
      {report.data.steps.map((step) => (
        <li key={step.position}>
          <div className="funnel-step-head">
            <strong>
              {step.position}. {step.name}
            </strong>
            <span>
              {formatNumber(step.visitors)} visitors · {formatPercent(step.conversion_rate)}
            </span>
          </div>
          <div className="funnel-bar" aria-hidden="true">
            <span style={{ width: `${(step.visitors / first) * 100}%` }} />
          </div>
          {step.position > 1 && (
            <small className="muted">
              {formatNumber(step.dropoff)} dropped off ({formatPercent(step.dropoff_rate)})
              {step.dropoff > 0 && (
                <>
                  {" · "}
                  <Link
                    to={`/orgs/${project.org_id}/projects/${project.id}/replays?funnel_id=${funnelId}&dropped_at=${step.position}&period=30d`}
                  >
                    Replays of visitors who dropped off here
                  </Link>
                </>
              )}
            </small>
          )}
        </li>
      ))}
    </ol>
  );
}

export function Funnels({ goals }: { goals: Schemas["GoalOut"][] }) {
  const { project, role } = useProject();
  const path = useMemo(() => ({ org_id: project.org_id, project_id: project.id }), [project.org_id, project.id]);
  const funnels = useAsync(
    () => unwrap(api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/funnels", { params: { path } })),
    [path],
  );
  const [chosen, setChosen] = useState<string | null>(null);
  const remove = useAction(async (funnelId: string) => {
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/funnels/{funnel_id}", {
        params: { path: { ...path, funnel_id: funnelId } },
      }),
    );
    setChosen(null);
    funnels.reload();
  });
  const selected = chosen ?? funnels.data?.[0]?.id ?? null;
  return (
    <Card title="Funnels (last 30 days)">
      <ErrorNote error={funnels.error ?? remove.error} />
      {!funnels.data && !funnels.error && <Loading />}
      {funnels.data?.length === 0 && <Empty>No funnels yet.</Empty>}
      {funnels.data && funnels.data.length > 0 && selected && (
        <>
          <div className="row">
            <Select label="Funnel" value={selected} onChange={(e) => setChosen(e.target.value)}>
              {funnels.data.map((funnel) => (
                <option key={funnel.id} value={funnel.id}>
                  {funnel.name}
                </option>
              ))}
            </Select>
            {canWrite(role) && (
              <Button variant="ghost" onClick={() => void remove.run(selected)}>
                Delete funnel
              </Button>
            )}
          </div>
          <FunnelChart funnelId={selected} />
          <details className="funnel-discussion">
            <summary>Discussion</summary>
            <CommentThread
              key={selected}
              orgId={project.org_id}
              projectId={project.id}
              targetKind="funnel"
              targetId={selected}
              canWrite={canWrite(role)}
            />
          </details>
        </>
      )}
      {canWrite(role) && <FunnelBuilder goals={goals} onCreated={funnels.reload} />}
    </Card>
  );
}
