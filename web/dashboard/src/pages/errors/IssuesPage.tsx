// `/orgs/:org/projects/:project/errors`: the project's error issues, filtered and sorted in the
// URL, with a 14-day sparkline; and, before the first error, how to point a Sentry SDK here.
import { api, type Schemas, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Sparkline } from "../../components/Sparkline";
import { Card, CopyButton, Empty, ErrorNote, Loading, Select } from "../../components/ui";
import { formatNumber } from "../../lib/format";
import { Link, useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

type Status = NonNullable<Schemas["IssueStatusDto"]>;
type Sort = NonNullable<Schemas["IssueSortDto"]>;

/** The project's DSN: what Sentry SDKs are initialized with. */
export function dsn(project: Schemas["ProjectOut"]): string {
  const { protocol, host } = window.location;
  return `${protocol}//${project.ingest_key}@${host}/${project.ingest_id}`;
}

function ago(iso: string): string {
  const minutes = Math.round((Date.now() - Date.parse(iso)) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

export function IssuesPage() {
  const { project } = useProject();
  const { path, search, navigate } = useRouter();
  const status = (search.get("status") ?? "unresolved") as Status | "all";
  const sort = (search.get("sort") ?? "last_seen") as Sort;
  const query = search.get("q") ?? "";
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(search);
    next.set(key, value);
    navigate(`${path}?${next}`, { replace: true });
  };
  const issues = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/issues", {
          params: {
            path: { org_id: project.org_id, project_id: project.id },
            query: { status: status === "all" ? undefined : status, sort, query: query || undefined, limit: 100 },
          },
        }),
      ),
    [project.org_id, project.id, status, sort, query],
  );
  const base = `/orgs/${project.org_id}/projects/${project.id}/errors`;
  return (
    <>
      <div className="toolbar">
        <Select label="State" value={status} onChange={(e) => set("status", e.target.value)}>
          <option value="unresolved">Unresolved</option>
          <option value="resolved">Resolved</option>
          <option value="ignored">Ignored</option>
          <option value="all">All</option>
        </Select>
        <Select label="Sort by" value={sort} onChange={(e) => set("sort", e.target.value)}>
          <option value="last_seen">Last seen</option>
          <option value="first_seen">First seen</option>
          <option value="events">Events</option>
          <option value="users">Users</option>
        </Select>
        <div className="field">
          <label htmlFor="issue-search">Search titles</label>
          <input
            id="issue-search"
            type="search"
            defaultValue={query}
            onKeyDown={(e) => e.key === "Enter" && set("q", e.currentTarget.value)}
          />
        </div>
      </div>
      <Card
        title="Issues"
        actions={
          <a
            className="button button-secondary"
            href={`/api/v1/orgs/${project.org_id}/projects/${project.id}/issues/export?format=csv`}
            download
          >
            Export CSV
          </a>
        }
      >
        <ErrorNote error={issues.error} />
        {!issues.data && !issues.error && <Loading />}
        {issues.data?.items.length === 0 && (
          <Empty>
            {status === "unresolved" && !query ? (
              <span>
                No open issues. Send errors here with any Sentry SDK and this DSN:
                <br />
                <code data-testid="dsn">{dsn(project)}</code> <CopyButton text={dsn(project)} label="Copy DSN" />
              </span>
            ) : (
              "No issues match."
            )}
          </Empty>
        )}
        {issues.data && issues.data.items.length > 0 && (
          <div className="table-scroll">
            <table className="issues">
              <thead>
                <tr>
                  <th scope="col">Issue</th>
                  <th scope="col">Last 14 days</th>
                  <th scope="col" className="num">
                    Events
                  </th>
                  <th scope="col" className="num">
                    Users
                  </th>
                  <th scope="col">Last seen</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {issues.data.items.map((issue) => (
                  <tr key={issue.id}>
                    <td>
                      <Link to={`${base}/${issue.id}`} className="issue-title">
                        {issue.title}
                      </Link>
                      <div className="muted">{issue.culprit ?? "—"}</div>
                    </td>
                    <td>
                      <Sparkline values={issue.daily} label={`Events per day: ${issue.daily.join(", ")}`} />
                    </td>
                    <td className="num">{formatNumber(issue.events)}</td>
                    <td className="num">{formatNumber(issue.users)}</td>
                    <td>
                      <time dateTime={issue.last_seen}>{ago(issue.last_seen)}</time>
                    </td>
                    <td>
                      <span className={`badge badge-${issue.status}`}>{issue.status}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </>
  );
}
