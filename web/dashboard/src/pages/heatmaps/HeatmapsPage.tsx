// `/orgs/:org/projects/:project/heatmaps[?page=/pricing&device=phone&period=7d]`: where
// visitors click on a page and how far down they scroll, per device class and period (all in
// the URL). The clicks are drawn over a recording's snapshot of the page when there is one;
// the most clicked elements, the rage clicks and the scroll depth are listed in any case.
// Before any data, how to turn heatmaps on.
//
// Like the player, this screen rebuilds a recorded page, so it is loaded as a document of its
// own (the server lets it use inline styles; see `crossesRecordedPage` in `lib/router.tsx`),
// and lazily: neither it nor rrweb counts against the first page's budget.
import { useCallback, useMemo } from "react";
import { api, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { Card, CopyButton, ErrorNote, Loading, Select } from "../../components/ui";
import { formatDuration, formatNumber } from "../../lib/format";
import {
  describeBand,
  deviceName,
  getHeatmap,
  HEATMAP_DEVICES,
  type Heatmap,
  type HeatmapDevice,
  type HeatmapView,
  listHeatmapPages,
  readHeatmapView,
  writeHeatmapView,
} from "../../lib/heatmaps";
import { decodeChunk } from "../../lib/replays";
import { canAdmin, canWrite } from "../../lib/roles";
import { Link, useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";
import { PeriodSelect } from "../dashboard/PeriodSelect";
import { HeatmapSnapshot } from "./HeatmapSnapshot";

const DEVICE_LABELS: Record<HeatmapDevice, string> = { desktop: "Desktop", tablet: "Tablet", phone: "Phone" };

/** A UTC day (`YYYY-MM-DD`, as the API names the range's ends) in the viewer's words. */
function formatDay(day: string): string {
  const date = new Date(`${day.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? day : date.toLocaleDateString(undefined, { timeZone: "UTC" });
}

/** The words shown instead of the snapshot when no recording of the page exists. */
export function noSnapshotText(device: string): string {
  return `No recording of this page on ${deviceName(device)} yet, so there is no snapshot to draw on. Clicks and scroll depth are below.`;
}

/** Before any data: where heatmaps are switched on, and the script the site needs. */
function GettingStarted({ device }: { device: HeatmapDevice }) {
  const { project, role } = useProject();
  const settings = useAsync(
    () =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/replay-settings", {
          params: { path: { org_id: project.org_id, project_id: project.id } },
        }),
      ),
    [project.org_id, project.id],
  );
  const enabled = settings.data?.heatmaps_enabled;
  const snippet = `<script defer data-domain="${project.domains[0] ?? "example.com"}" src="${window.location.origin}/js/replay.js"></script>`;
  const settingsLink = `/orgs/${project.org_id}/projects/${project.id}/settings`;
  return (
    <div className="replay-start" data-testid="heatmaps-empty">
      <p>
        <strong>No clicks or scroll depth on {deviceName(device)} in this period.</strong> Heatmaps count where every
        visitor clicks and how far down each page they scroll, without recording anyone: only the page, the screen's
        width class, each clicked element with the spot inside it, and how far down the page was scrolled are sent.
      </p>
      <ol>
        <li>
          {enabled ? (
            <>
              Heatmaps are <strong>on</strong> for this project.
            </>
          ) : (
            <>
              Turn them on in the project's <strong>Settings</strong>, under <em>Session replay</em>: "Collect heatmaps"
              {canAdmin(role) ? "" : " (admins)"}.
              {canWrite(role) && (
                <>
                  {" "}
                  <Link to={settingsLink}>Open Settings</Link>
                </>
              )}
            </>
          )}
        </li>
        <li>
          Add the replay script to your site, next to the tracking code (it also records sessions when session replay is
          on):
          <figure aria-label="Replay script">
            <pre className="snippet">
              <code>{snippet}</code>
            </pre>
          </figure>
          <CopyButton text={snippet} label="Copy script" />
        </li>
      </ol>
      <p className="muted">
        With session replay on as well, the clicks are drawn over a recording of the page. Nothing is collected for
        visitors who send Do-Not-Track or Global Privacy Control.
      </p>
    </div>
  );
}

/** The most clicked elements, as a table. */
function Elements({ heatmap }: { heatmap: Heatmap }) {
  if (heatmap.elements.length === 0) return <p className="muted">No clicks on this page in this period.</p>;
  return (
    <div className="table-scroll">
      <table className="heatmap-elements">
        <thead>
          <tr>
            <th scope="col">Element</th>
            <th scope="col" className="num">
              Clicks
            </th>
            <th scope="col" className="num">
              Rage clicks
            </th>
          </tr>
        </thead>
        <tbody>
          {heatmap.elements.map((element) => (
            <tr key={element.selector} data-selector={element.selector}>
              <td>
                <code>{element.selector}</code>
              </td>
              <td className="num">{formatNumber(element.clicks)}</td>
              <td className="num">
                {element.rage_clicks > 0 ? (
                  <span className="badge badge-bad">{formatNumber(element.rage_clicks)}</span>
                ) : (
                  <span className="muted">0</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The share of pageviews reaching each tenth of the page, as bars with their words. */
function ScrollDepth({ heatmap }: { heatmap: Heatmap }) {
  if (heatmap.pageviews === 0 || heatmap.scroll.length === 0)
    return <p className="muted">No pageview of this page reported how far it was scrolled in this period.</p>;
  return (
    <ul className="bars heatmap-scroll" aria-label="Share of pageviews reaching each depth">
      {heatmap.scroll.map((band) => (
        <li
          key={band.depth}
          className="bar-row static"
          data-depth={band.depth}
          data-share={band.share}
          title={describeBand(band, heatmap.pageviews)}
        >
          <span className="bar" style={{ width: `${Math.min(100, Math.max(0, band.share))}%` }} aria-hidden="true" />
          <span className="bar-label">Reached {band.depth}%</span>
          <span className="bar-value">
            {Math.round(band.share)}% of {formatNumber(heatmap.pageviews)}{" "}
            {heatmap.pageviews === 1 ? "pageview" : "pageviews"}
          </span>
        </li>
      ))}
    </ul>
  );
}

function HeatmapCards({ heatmap, loading }: { heatmap: Heatmap; loading: boolean }) {
  const { project } = useProject();
  const replayId = heatmap.snapshot?.replay_id;
  const loadChunk = useCallback(async () => {
    if (!replayId) return [];
    return decodeChunk(
      await unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/replays/{replay_id}/chunks/{seq}", {
          params: { path: { org_id: project.org_id, project_id: project.id, replay_id: replayId, seq: 0 } },
          parseAs: "arrayBuffer",
        }),
      ),
    );
  }, [project.org_id, project.id, replayId]);
  // A width class this screen does not know yet is drawn as a desktop's.
  const device: HeatmapDevice = HEATMAP_DEVICES.includes(heatmap.device) ? heatmap.device : "desktop";
  const from = formatDay(heatmap.from);
  const to = formatDay(heatmap.to);
  return (
    <>
      <Card
        title={
          <>
            Clicks on <code>{heatmap.page}</code>
          </>
        }
        actions={
          <span className="muted">
            {loading ? "Loading…" : `${DEVICE_LABELS[device]}, ${from === to ? from : `${from} – ${to}`}`}
          </span>
        }
      >
        <dl className="facts heatmap-facts">
          <div>
            <dt>Clicks</dt>
            <dd data-testid="heatmap-clicks">{formatNumber(heatmap.clicks)}</dd>
          </div>
          <div>
            <dt>Rage clicks</dt>
            <dd data-testid="heatmap-rage-clicks" className={heatmap.rage_clicks > 0 ? "replay-errors" : undefined}>
              {formatNumber(heatmap.rage_clicks)}
            </dd>
          </div>
          <div>
            <dt>Pageviews measured</dt>
            <dd>{formatNumber(heatmap.pageviews)}</dd>
          </div>
        </dl>
        {heatmap.snapshot ? (
          <>
            <p className="muted heatmap-snapshot-source" data-testid="heatmap-snapshot-source">
              Drawn over the page as{" "}
              <Link to={`/orgs/${project.org_id}/projects/${project.id}/replays/${heatmap.snapshot.replay_id}`}>
                a visitor's recording
              </Link>{" "}
              from{" "}
              <time dateTime={heatmap.snapshot.started_at}>
                {new Date(heatmap.snapshot.started_at).toLocaleString()}
              </time>{" "}
              showed it ({formatDuration(heatmap.snapshot.duration_s)},{" "}
              {heatmap.snapshot.clicks === 1 ? "1 click" : `${formatNumber(heatmap.snapshot.clicks)} clicks`}).
            </p>
            <HeatmapSnapshot
              key={`${heatmap.snapshot.replay_id} ${device}`}
              device={device}
              page={heatmap.page}
              cells={heatmap.cells}
              loadChunk={loadChunk}
              stale={loading}
            />
          </>
        ) : (
          <p className="heatmap-no-snapshot" data-testid="heatmap-no-snapshot">
            {noSnapshotText(device)}
          </p>
        )}
      </Card>
      <div className="panels">
        <Card title="Most clicked elements">
          <Elements heatmap={heatmap} />
        </Card>
        <Card title="Scroll depth">
          <ScrollDepth heatmap={heatmap} />
        </Card>
      </div>
    </>
  );
}

export function HeatmapsPage() {
  const { project } = useProject();
  const { path, search, navigate } = useRouter();
  const view = useMemo(() => readHeatmapView(search), [search]);
  const set = (change: Partial<HeatmapView>) => {
    const query = writeHeatmapView({ ...view, ...change });
    navigate(query ? `${path}?${query}` : path, { replace: true });
  };
  const { device, period } = view;
  const pages = useAsync(
    () => listHeatmapPages(project.org_id, project.id, device, period),
    [project.org_id, project.id, device, period],
  );
  // Without `?page=`, the most clicked page.
  const page = view.page ?? pages.data?.[0]?.page;
  const heatmap = useAsync(
    () => (page ? getHeatmap(project.org_id, project.id, page, device, period) : Promise.resolve(null)),
    [project.org_id, project.id, page, device, period],
  );
  const options = pages.data ?? [];
  const listed = page !== undefined && options.some((p) => p.page === page);
  const empty = pages.data !== undefined && options.length === 0 && !view.page;
  return (
    <div className="heatmaps">
      <div className="toolbar heatmap-toolbar">
        <Select
          label="Page"
          value={page ?? ""}
          disabled={!page}
          onChange={(event) => set({ page: event.target.value || undefined })}
        >
          {!page && <option value="">{pages.loading ? "Loading pages…" : "No pages yet"}</option>}
          {page && !listed && <option value={page}>{page}</option>}
          {options.map((p) => (
            <option key={p.page} value={p.page}>
              {p.page} ({formatNumber(p.clicks)} {p.clicks === 1 ? "click" : "clicks"})
            </option>
          ))}
        </Select>
        <fieldset className="segmented plain heatmap-devices" aria-label="Device">
          {HEATMAP_DEVICES.map((d) => (
            <button key={d} type="button" aria-pressed={device === d} onClick={() => set({ device: d })}>
              {DEVICE_LABELS[d]}
            </button>
          ))}
        </fieldset>
        <PeriodSelect value={period} onChange={(next) => set({ period: next })} />
      </div>
      <ErrorNote error={pages.error ?? heatmap.error} />
      {empty && (
        <Card title="Heatmaps">
          <GettingStarted device={device} />
        </Card>
      )}
      {!empty && !heatmap.data && !heatmap.error && !pages.error && <Loading />}
      {!empty && heatmap.data && <HeatmapCards heatmap={heatmap.data} loading={heatmap.loading} />}
    </div>
  );
}
