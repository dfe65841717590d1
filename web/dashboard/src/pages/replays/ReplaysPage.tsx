// `/orgs/:org/projects/:project/replays`: the project's session recordings, newest first, 50 at
// a time ("Load older"), filtered by page, errors, device, country, length, age and saved
// segment, or to the visitors who dropped off at a funnel's step (the filters live in the URL);
// before the first
// recording, how to turn session replay on.
import { type FormEvent, useCallback, useMemo, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { useProject } from "../../components/ProjectFrame";
import { useSegments } from "../../components/SegmentPicker";
import { Button, Card, CopyButton, ErrorNote, Field, Loading, Select, useAction } from "../../components/ui";
import { formatDuration } from "../../lib/format";
import {
  DAY_CHOICES,
  DEVICES,
  isFiltered,
  percentFromRate,
  type ReplayFilters,
  readFilters,
  writeFilters,
} from "../../lib/replays";
import { canAdmin, canWrite } from "../../lib/roles";
import { Link, useRouter } from "../../lib/router";
import { useAsync } from "../../lib/useAsync";

type Replay = Schemas["ReplayOut"];

/** The filter form; applies on submit, so typing does not reload the list. */
function FilterForm({ filters, onApply }: { filters: ReplayFilters; onApply: (next: ReplayFilters) => void }) {
  const { project } = useProject();
  const segments = useSegments(project.org_id, project.id);
  const [segment, setSegment] = useState(filters.segment_id ?? "");
  const [page, setPage] = useState(filters.page ?? "");
  const [error, setError] = useState(filters.has_error === undefined ? "" : String(filters.has_error));
  const [device, setDevice] = useState(filters.device ?? "");
  const [country, setCountry] = useState(filters.country ?? "");
  const [minDuration, setMinDuration] = useState(filters.min_duration_s ? String(filters.min_duration_s) : "");
  const [days, setDays] = useState(filters.days ? String(filters.days) : "");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    // Read back through the URL's rules, so what is applied is what the URL keeps.
    const draft = new URLSearchParams({
      page,
      has_error: error,
      device,
      country,
      min_duration_s: minDuration,
      days,
      segment_id: segment,
    });
    // A funnel's drop-offs (set from the funnel's page) and the period stay as they were.
    if (filters.funnel_id && filters.dropped_at) {
      draft.set("funnel_id", filters.funnel_id);
      draft.set("dropped_at", String(filters.dropped_at));
    }
    if (filters.period) draft.set("period", filters.period);
    onApply(readFilters(draft));
  };
  return (
    <form className="filters-form replay-filters" onSubmit={submit} aria-label="Filter recordings">
      <Field label="Page" placeholder="/pricing" value={page} onChange={(e) => setPage(e.target.value)} />
      <Select label="Errors" value={error} onChange={(e) => setError(e.target.value)}>
        <option value="">Any</option>
        <option value="true">With an error</option>
        <option value="false">Without errors</option>
      </Select>
      <Select label="Device" value={device} onChange={(e) => setDevice(e.target.value)}>
        <option value="">Any</option>
        {DEVICES.map((d) => (
          <option key={d} value={d}>
            {d[0].toUpperCase() + d.slice(1)}
          </option>
        ))}
      </Select>
      <Field
        label="Country"
        placeholder="DE"
        maxLength={2}
        size={4}
        value={country}
        onChange={(e) => setCountry(e.target.value)}
      />
      <Field
        label="At least (seconds)"
        type="number"
        min={0}
        inputMode="numeric"
        value={minDuration}
        onChange={(e) => setMinDuration(e.target.value)}
      />
      <Select label="Segment" value={segment} onChange={(e) => setSegment(e.target.value)}>
        <option value="">Everyone</option>
        {(segments.data ?? []).map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
          </option>
        ))}
      </Select>
      <Select label="Started" value={days} onChange={(e) => setDays(e.target.value)}>
        <option value="">Any time</option>
        {DAY_CHOICES.map((n) => (
          <option key={n} value={n}>
            {n === 1 ? "In the last 24 hours" : `In the last ${n} days`}
          </option>
        ))}
      </Select>
      <div className="row">
        <Button type="submit">Apply</Button>
        <Button variant="ghost" onClick={() => onApply({})}>
          Clear
        </Button>
      </div>
    </form>
  );
}

/** Before the first recording: where replay is switched on, and the script the site needs. */
function GettingStarted() {
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
  const snippet = `<script defer data-domain="${project.domains[0] ?? "example.com"}" src="${window.location.origin}/js/replay.js"></script>`;
  const settingsLink = `/orgs/${project.org_id}/projects/${project.id}/settings`;
  const enabled = settings.data?.enabled;
  return (
    <div className="replay-start" data-testid="replays-empty">
      <p>
        <strong>No recordings yet.</strong> Session replay records what a sampled share of visitors see and do, with all
        text and everything they type masked in their browser before anything is sent.
      </p>
      <ol>
        <li>
          {enabled ? (
            <>
              Session replay is <strong>on</strong> for this project, recording{" "}
              {percentFromRate(settings.data?.sample_rate ?? 0)}% of visitors.
            </>
          ) : (
            <>
              Turn it on in the project's <strong>Settings</strong>, under <em>Session replay</em>
              {canAdmin(role) ? "" : " (admins)"}: choose the share of visitors to record and what stays masked.
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
          Add the replay script to your site, next to the tracking code:
          <figure aria-label="Replay script">
            <pre className="snippet">
              <code>{snippet}</code>
            </pre>
          </figure>
          <CopyButton text={snippet} label="Copy script" />
        </li>
      </ol>
      <p className="muted">
        Recordings appear here a few seconds after a visit starts. Nothing is recorded for visitors who send
        Do-Not-Track or Global Privacy Control.
      </p>
    </div>
  );
}

function ReplayRow({ replay, base }: { replay: Replay; base: string }) {
  const started = new Date(replay.started_at);
  return (
    <tr data-replay-id={replay.id}>
      <td>
        <Link
          to={`${base}/${replay.id}`}
          className="replay-link"
          aria-label={`Play the recording from ${started.toLocaleString()}`}
        >
          <time dateTime={replay.started_at}>{started.toLocaleString()}</time>
        </Link>
        {!replay.playable && <div className="muted small">not playable yet</div>}
      </td>
      <td className="num">{formatDuration(replay.duration_ms / 1000)}</td>
      <td>
        <code>{replay.entry_page}</code>
        {replay.pages.length > 1 && <div className="muted small">{replay.pages.length} pages</div>}
      </td>
      <td>{replay.country ?? "—"}</td>
      <td>
        {replay.device}
        <div className="muted small">
          {replay.browser} · {replay.os}
        </div>
      </td>
      <td className="num">
        {replay.errors > 0 ? (
          <span className="badge badge-bad">{replay.errors}</span>
        ) : (
          <span className="muted">0</span>
        )}
      </td>
      <td className="num">
        {replay.rage_clicks} / {replay.dead_clicks}
      </td>
    </tr>
  );
}

export function ReplaysPage() {
  const { project } = useProject();
  const { path, search, navigate } = useRouter();
  const filters = useMemo(() => readFilters(search), [search]);
  const key = writeFilters(filters);
  const apply = (next: ReplayFilters) => {
    const query = writeFilters(next);
    navigate(query ? `${path}?${query}` : path, { replace: true });
  };
  const [older, setOlder] = useState<Replay[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = useCallback(
    (after: string | null) =>
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/replays", {
          params: {
            path: { org_id: project.org_id, project_id: project.id },
            query: { ...filters, cursor: after ?? undefined, limit: 50 },
          },
        }),
      ),
    [project.org_id, project.id, filters],
  );
  const first = useAsync(async () => {
    const page = await load(null);
    setOlder([]);
    setCursor(page.next_cursor ?? null);
    return page.items;
  }, [load]);
  const more = useAction(async () => {
    const page = await load(cursor);
    setOlder((rows) => [...rows, ...page.items]);
    setCursor(page.next_cursor ?? null);
  });
  const rows = [...(first.data ?? []), ...older];
  const base = `/orgs/${project.org_id}/projects/${project.id}/replays`;
  const segments = useSegments(project.org_id, project.id);
  const segmentName = segments.data?.find((s) => s.id === filters.segment_id)?.name;
  return (
    <>
      {filters.segment_id && (
        <p className="note" data-testid="segment-filter">
          Recordings of visitors in the segment “{segmentName ?? "…"}” ({filters.period ?? "30d"}): visitors with a
          visit its filters admit.
        </p>
      )}
      {filters.funnel_id && (
        <p className="note" data-testid="funnel-dropoff-filter">
          Recordings of visitors who dropped off at step {filters.dropped_at} of a funnel ({filters.period ?? "30d"}).{" "}
          <Button variant="ghost" onClick={() => apply({ ...filters, funnel_id: undefined, dropped_at: undefined })}>
            Show all recordings
          </Button>
        </p>
      )}
      <FilterForm key={key} filters={filters} onApply={apply} />
      <Card title="Recordings">
        <ErrorNote error={first.error ?? more.error} />
        {!first.data && !first.error && <Loading />}
        {first.data && rows.length === 0 && (isFiltered(filters) ? <p>No recordings match.</p> : <GettingStarted />)}
        {rows.length > 0 && (
          <div className="table-scroll">
            <table className="replays">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                  <th scope="col">Entry page</th>
                  <th scope="col">Country</th>
                  <th scope="col">Device</th>
                  <th scope="col" className="num">
                    Errors
                  </th>
                  <th scope="col" className="num">
                    Rage / dead clicks
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((replay) => (
                  <ReplayRow key={replay.id} replay={replay} base={base} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        {cursor && first.data && (
          <div className="row">
            <Button variant="secondary" busy={more.busy} onClick={() => void more.run()}>
              Load older
            </Button>
          </div>
        )}
      </Card>
    </>
  );
}
