// `/orgs/:org/projects/:project/errors/:issue`: one issue — its state and actions, the latest
// event's source-mapped stack trace with context, breadcrumbs, tag distributions, releases,
// the timeline of its events, and its Jira and GitHub tickets.
import { useMemo, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { AiInsight } from "../../components/AiAnswer";
import { CommentThread } from "../../components/CommentThread";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, Empty, ErrorNote, Loading, useAction } from "../../components/ui";
import { formatNumber } from "../../lib/format";
import { canWrite } from "../../lib/roles";
import { Link } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";
import { IssueReplays } from "./IssueReplays";
import { IssueTask } from "./IssueTask";
import { IssueTickets } from "./IssueTickets";

type Frame = Schemas["FrameOut"];
type Event = Schemas["ErrorEventOut"];

function FrameView({ frame, open }: { frame: Frame; open: boolean }) {
  const where = [frame.abs_path ?? frame.filename ?? "?", frame.lineno, frame.colno]
    .filter((p) => p !== undefined && p !== null)
    .join(":");
  const hasContext = frame.context_line !== undefined && frame.context_line !== null;
  const first = (frame.lineno ?? 0) - frame.pre_context.length;
  return (
    <details className={`frame ${frame.in_app ? "in-app" : ""}`} open={open}>
      <summary>
        <strong>{frame.function ?? "?"}</strong> <span className="muted">{where}</span>
      </summary>
      {hasContext ? (
        <figure aria-label={`Source around ${where}`}>
          <pre className="context">
            {frame.pre_context.map((line, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a stored frame's source lines never change order
              <code key={`pre-${i}`}>
                <span className="lineno">{first + i}</span>
                {line}
              </code>
            ))}
            <code className="crash-line">
              <span className="lineno">{frame.lineno}</span>
              {frame.context_line}
            </code>
            {frame.post_context.map((line, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a stored frame's source lines never change order
              <code key={`post-${i}`}>
                <span className="lineno">{(frame.lineno ?? 0) + i + 1}</span>
                {line}
              </code>
            ))}
          </pre>
        </figure>
      ) : (
        <p className="muted">No source for this frame.</p>
      )}
      {frame.minified && <p className="muted small">Minified: {frame.minified}</p>}
    </details>
  );
}

function StackTrace({ event }: { event: Event }) {
  return (
    <>
      {[...event.exceptions].reverse().map((exception, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a stored event's exceptions never change order
        <section key={i} className="exception" aria-label={`Exception ${exception.type ?? ""}`}>
          <h3>
            {exception.type ?? "Message"}
            {exception.value ? `: ${exception.value}` : ""}
          </h3>
          <p className="muted">
            {exception.mechanism ?? "captured"}
            {exception.handled === false ? " · unhandled" : ""}
          </p>
          {/* The crash first: the SDK lists frames oldest first. */}
          {[...exception.frames].reverse().map((frame, j) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a stored exception's frames never change order
            <FrameView key={j} frame={frame} open={j === 0 || (frame.in_app === true && j < 3)} />
          ))}
        </section>
      ))}
    </>
  );
}

function Breadcrumbs({ crumbs }: { crumbs: unknown }) {
  const list = Array.isArray(crumbs) ? (crumbs as Record<string, unknown>[]) : [];
  if (list.length === 0) return <Empty>No breadcrumbs.</Empty>;
  return (
    <div className="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Category</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {list.map((crumb, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a stored event's breadcrumbs never change order
            <tr key={i}>
              <td>
                {typeof crumb.timestamp === "number" ? new Date(crumb.timestamp * 1000).toLocaleTimeString() : ""}
              </td>
              <td>{String(crumb.category ?? crumb.type ?? "")}</td>
              <td>{String(crumb.message ?? (crumb.data ? JSON.stringify(crumb.data) : ""))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Timeline({ issueId }: { issueId: string }) {
  const { project } = useProject();
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const events = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/issues/{issue_id}/events", {
          params: {
            path: { org_id: project.org_id, project_id: project.id, issue_id: issueId },
            query: { limit: 20, cursor },
          },
        }),
      ),
    [project.org_id, project.id, issueId, cursor],
  );
  return (
    <Card title="Events">
      <ErrorNote error={events.error} />
      {!events.data && !events.error && <Loading />}
      {events.data && (
        <ol className="timeline">
          {events.data.items.map((event) => (
            <li key={event.id}>
              <time dateTime={event.ts}>{new Date(event.ts).toLocaleString()}</time>{" "}
              <span className="muted">
                {[event.release, event.environment, event.user_id && `user ${event.user_id}`]
                  .filter(Boolean)
                  .join(" · ")}
              </span>
            </li>
          ))}
        </ol>
      )}
      <div className="row">
        {cursor && (
          <Button variant="secondary" onClick={() => setCursor(undefined)}>
            Newest
          </Button>
        )}
        {events.data?.next_cursor && (
          <Button variant="secondary" onClick={() => setCursor(events.data?.next_cursor ?? undefined)}>
            Older events
          </Button>
        )}
      </div>
    </Card>
  );
}

export function IssuePage({ issueId }: { issueId: string }) {
  const { project, role } = useProject();
  const path = useMemo(
    () => ({ org_id: project.org_id, project_id: project.id, issue_id: issueId }),
    [project.org_id, project.id, issueId],
  );
  const detail = useAsync(
    () => unwrap(api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/issues/{issue_id}", { params: { path } })),
    [path],
  );
  const change = useAction(async (status: "resolved" | "unresolved" | "ignored", inNextRelease: boolean) => {
    await unwrap(
      api.PATCH("/api/v1/orgs/{org_id}/projects/{project_id}/issues/{issue_id}", {
        params: { path },
        body: { status, in_next_release: inNextRelease },
      }),
    );
    detail.reload();
  });
  if (detail.error) return <ErrorNote error={detail.error} />;
  if (!detail.data) return <Loading />;
  const { issue } = detail.data;
  const event = detail.data.latest_event;
  return (
    <>
      <p>
        <Link to={`/orgs/${project.org_id}/projects/${project.id}/errors`}>← All issues</Link>
      </p>
      <Card
        title={<span className="issue-heading">{issue.title}</span>}
        actions={
          canWrite(role) && (
            <fieldset className="row plain" aria-label="Issue state">
              {issue.status !== "resolved" && (
                <>
                  <Button busy={change.busy} onClick={() => void change.run("resolved", false)}>
                    Resolve
                  </Button>
                  <Button variant="secondary" busy={change.busy} onClick={() => void change.run("resolved", true)}>
                    Resolve in next release
                  </Button>
                </>
              )}
              {issue.status !== "ignored" && (
                <Button variant="secondary" busy={change.busy} onClick={() => void change.run("ignored", false)}>
                  Ignore
                </Button>
              )}
              {issue.status !== "unresolved" && (
                <Button variant="secondary" busy={change.busy} onClick={() => void change.run("unresolved", false)}>
                  Reopen
                </Button>
              )}
            </fieldset>
          )
        }
      >
        <p className="muted">{issue.culprit}</p>
        <ErrorNote error={change.error} />
        <dl className="facts">
          <div>
            <dt>State</dt>
            <dd>
              <span className={`badge badge-${issue.status}`} data-testid="issue-status">
                {issue.status}
              </span>
              {detail.data.resolved_in_release && (
                <span className="muted"> in the release after {detail.data.resolved_in_release}</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Events</dt>
            <dd>{formatNumber(issue.events)}</dd>
          </div>
          <div>
            <dt>Users</dt>
            <dd>{formatNumber(issue.users)}</dd>
          </div>
          <div>
            <dt>First seen</dt>
            <dd>
              {new Date(issue.first_seen).toLocaleString()}{" "}
              {detail.data.first_release && <span className="muted">({detail.data.first_release})</span>}
            </dd>
          </div>
          <div>
            <dt>Last seen</dt>
            <dd>
              {new Date(issue.last_seen).toLocaleString()}{" "}
              {detail.data.last_release && <span className="muted">({detail.data.last_release})</span>}
            </dd>
          </div>
        </dl>
      </Card>
      <IssueReplays orgId={project.org_id} projectId={project.id} issueId={issue.id} />
      <IssueTask
        orgId={project.org_id}
        projectId={project.id}
        issueId={issue.id}
        title={issue.title}
        editable={canWrite(role)}
        version={issue.status}
      />
      <Card title="Discussion">
        <CommentThread
          orgId={project.org_id}
          projectId={project.id}
          targetKind="issue"
          targetId={issue.id}
          canWrite={canWrite(role)}
        />
      </Card>
      <Card title="Explain with AI">
        <AiInsight
          label="Explain this issue"
          intro={
            <p className="muted">
              The likely cause and where to look, from this issue's counts and stack (never an event's user, request or
              breadcrumbs).
            </p>
          }
          ask={() =>
            api.POST("/api/v1/orgs/{org_id}/projects/{project_id}/issues/{issue_id}/ai/explanation", {
              params: { path: { org_id: project.org_id, project_id: project.id, issue_id: issue.id } },
              parseAs: "stream",
            })
          }
        />
      </Card>
      <div className="panels">
        <Card title="Stack trace" className="span-2">
          {event ? <StackTrace event={event} /> : <Empty>No event stored.</Empty>}
        </Card>
        <IssueTickets path={path} canAct={canWrite(role)} />
        <Card title="Breadcrumbs">
          {event ? <Breadcrumbs crumbs={event.breadcrumbs} /> : <Empty>No event stored.</Empty>}
        </Card>
        <Card title="Tags">
          {detail.data.tags.length === 0 && <Empty>No tags.</Empty>}
          {[
            { key: "release", values: detail.data.releases },
            { key: "environment", values: detail.data.environments },
            ...detail.data.tags,
          ].map((tag) =>
            tag.values.length === 0 ? null : (
              <div key={tag.key} className="tag">
                <h3>{tag.key}</h3>
                <ul className="bars">
                  {tag.values.map((value) => (
                    <li key={value.value ?? "(none)"} className="bar-row static">
                      <span
                        className="bar"
                        style={{ width: `${(value.events / Math.max(1, issue.events)) * 100}%` }}
                        aria-hidden="true"
                      />
                      <span className="bar-label">{value.value ?? "(none)"}</span>
                      <span className="bar-value">{formatNumber(value.events)}</span>
                    </li>
                  ))}
                </ul>
              </div>
            ),
          )}
        </Card>
      </div>
      <Timeline issueId={issueId} />
    </>
  );
}
