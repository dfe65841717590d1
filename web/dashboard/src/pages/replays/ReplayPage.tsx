// `/orgs/:org/projects/:project/replays/:replay[?t=<ms>]`: one recording in the rrweb player,
// opening at `?t=` (a shared moment, or where an error happened), with its markers, the pages
// visited and the visitor's device; admins delete it.
import { useCallback, useState } from "react";
import { api, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Button, Card, Empty, ErrorNote, Loading, useAction } from "../../components/ui";
import { formatDuration, formatNumber } from "../../lib/format";
import { decodeChunk, readMoment } from "../../lib/replays";
import { canAdmin } from "../../lib/roles";
import { Link, useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";
import { Player } from "./Player";

export function ReplayPage({ replayId }: { replayId: string }) {
  const { project, role } = useProject();
  const { search, navigate } = useRouter();
  // The moment to open at is read once: seeking later does not rewrite the URL.
  const [startAt] = useState(() => readMoment(search));
  const base = `/orgs/${project.org_id}/projects/${project.id}`;
  const detail = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/replays/{replay_id}", {
          params: { path: { org_id: project.org_id, project_id: project.id, replay_id: replayId } },
        }),
      ),
    [project.org_id, project.id, replayId],
  );
  const loadChunk = useCallback(
    async (seq: number) =>
      decodeChunk(
        await unwrap(
          api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/replays/{replay_id}/chunks/{seq}", {
            params: { path: { org_id: project.org_id, project_id: project.id, replay_id: replayId, seq } },
            parseAs: "arrayBuffer",
          }),
        ),
      ),
    [project.org_id, project.id, replayId],
  );
  const issuePath = useCallback((issueId: string) => `${base}/errors/${issueId}`, [base]);
  const remove = useAction(async () => {
    if (!window.confirm("Delete this recording? Its events are erased for good.")) return;
    await unwrap(
      api.DELETE("/api/v1/orgs/{org_id}/projects/{project_id}/replays/{replay_id}", {
        params: { path: { org_id: project.org_id, project_id: project.id, replay_id: replayId } },
      }),
    );
    navigate(`${base}/replays`);
  });
  const back = (
    <p>
      <Link to={`${base}/replays`}>← All recordings</Link>
    </p>
  );
  if (detail.error)
    return (
      <>
        {back}
        <ErrorNote error={detail.error} />
      </>
    );
  if (!detail.data) return <Loading />;
  const { replay, chunks, markers } = detail.data;
  return (
    <>
      {back}
      <Card
        title={`Recording from ${new Date(replay.started_at).toLocaleString()}`}
        actions={
          canAdmin(role) && (
            <Button variant="danger" busy={remove.busy} onClick={() => void remove.run()}>
              Delete recording
            </Button>
          )
        }
      >
        <ErrorNote error={remove.error} />
        {replay.playable && chunks.length > 0 ? (
          <Player
            chunks={chunks.map((chunk) => chunk.seq)}
            durationMs={replay.duration_ms}
            markers={markers}
            startAt={startAt}
            loadChunk={loadChunk}
            issuePath={issuePath}
          />
        ) : (
          <Empty>This recording has no full snapshot yet, so it cannot be played.</Empty>
        )}
      </Card>
      <div className="panels">
        <Card title="Visitor">
          <dl className="facts">
            <div>
              <dt>Device</dt>
              <dd>{replay.device}</dd>
            </div>
            <div>
              <dt>Browser</dt>
              <dd>{replay.browser}</dd>
            </div>
            <div>
              <dt>Operating system</dt>
              <dd>{replay.os}</dd>
            </div>
            <div>
              <dt>Country</dt>
              <dd>{replay.country ?? "unknown"}</dd>
            </div>
            <div>
              <dt>Duration</dt>
              <dd>{formatDuration(replay.duration_ms / 1000)}</dd>
            </div>
            <div>
              <dt>Clicks</dt>
              <dd>
                {formatNumber(replay.clicks)}{" "}
                <span className="muted">
                  ({formatNumber(replay.rage_clicks)} rage, {formatNumber(replay.dead_clicks)} dead)
                </span>
              </dd>
            </div>
            <div>
              <dt>Errors</dt>
              <dd className={replay.errors > 0 ? "replay-errors" : undefined}>{formatNumber(replay.errors)}</dd>
            </div>
            <div>
              <dt>Stored</dt>
              <dd>
                {replay.chunks} {replay.chunks === 1 ? "chunk" : "chunks"}, {(replay.bytes / 1024).toFixed(1)} KB
              </dd>
            </div>
          </dl>
        </Card>
        <Card title="Pages visited">
          {replay.pages.length === 0 ? (
            <p className="muted">No page was recorded.</p>
          ) : (
            <ol className="replay-pages">
              {replay.pages.map((page, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: a page may be visited twice; the order is the recording's
                <li key={i}>
                  <code>{page}</code>
                </li>
              ))}
            </ol>
          )}
        </Card>
      </div>
    </>
  );
}
