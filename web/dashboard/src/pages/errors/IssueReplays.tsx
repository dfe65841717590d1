// The issue's Replays card: the session recordings the error happened in, each opening the
// player where the error happened; or why there is none.
import { api, unwrap } from "../../api/client";
import { Card, ErrorNote, Loading } from "../../components/ui";
import { formatClock } from "../../lib/replays";
import { Link } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

export function IssueReplays({ orgId, projectId, issueId }: { orgId: string; projectId: string; issueId: string }) {
  const replays = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/issues/{issue_id}/replays", {
          params: { path: { org_id: orgId, project_id: projectId, issue_id: issueId } },
        }),
      ),
    [orgId, projectId, issueId],
  );
  return (
    <Card title="Replays" className="issue-replays">
      <ErrorNote error={replays.error} />
      {!replays.data && !replays.error && <Loading />}
      {replays.data?.length === 0 && (
        <p className="muted">
          No recording contains this error. Session replay is off or this visitor was not sampled.
        </p>
      )}
      {replays.data && replays.data.length > 0 && (
        <ul className="list">
          {replays.data.map((replay) => (
            <li key={`${replay.replay_id}-${replay.event_id}`}>
              <Link
                to={`/orgs/${orgId}/projects/${projectId}/replays/${replay.replay_id}?t=${replay.offset_ms}`}
                data-replay-id={replay.replay_id}
              >
                Recording from <time dateTime={replay.started_at}>{new Date(replay.started_at).toLocaleString()}</time>
              </Link>
              <span className="muted">error at {formatClock(replay.offset_ms)}</span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
