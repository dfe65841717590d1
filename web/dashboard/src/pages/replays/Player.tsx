// The replay player: rrweb's Replayer (loaded on demand) drawing the recording into a sandboxed
// iframe, with play/pause, the marked timeline, speed, "skip inactivity", a shareable link to
// the moment shown, and the list of markers. Chunk 0 is fetched first and the player starts as
// soon as it is decoded; the other chunks follow in order and are added to the running player.
//
// For tests, the element rrweb draws into carries `data-testid="replay-player"`,
// `data-replay-state` (`loading`, `ready` once the first frame is drawn at the moment the player
// opens at, `error`) and `data-current-ms` (the position, updated on every seek, pause and while
// playing).
import { type RefObject, useCallback, useEffect, useRef, useState } from "react";
import { CopyButton, ErrorNote } from "../../components/ui";
import {
  describeMarker,
  FULL_SNAPSHOT,
  formatClock,
  type Marker,
  markerKind,
  momentUrl,
  type ReplayEvent,
  timelineEnd,
} from "../../lib/replays";
import { Link } from "../../lib/router";
import type { Replayer } from "./rrweb";
import { MarkerLegend, Timeline } from "./Timeline";

/** Playback speeds offered. */
const SPEEDS = [1, 2, 4, 8] as const;

/** Shown when no chunk holds a full snapshot (the recorder's first frame never arrived). */
export const UNPLAYABLE = "This recording has no full snapshot yet, so it cannot be played.";

/** The player's state as the screen shows it. */
interface View {
  state: "loading" | "ready" | "error";
  error?: unknown;
  currentMs: number;
  playing: boolean;
  /** A seek or playback waits for chunks still on their way. */
  buffering: boolean;
}

/** What the loading loop and the controls share, outside React's renders. */
interface Session {
  replayer: Replayer | null;
  /** Time of the first event, in ms since 1970. */
  first: number;
  /** Offset of the last event added. */
  loadedMs: number;
  /** Every chunk is in the player. */
  complete: boolean;
  /** A seek waiting for the events up to it. */
  pending: number | null;
  /** The viewer asked to play. */
  playing: boolean;
  /** Playback ran out of loaded events before the rest arrived, at this offset. */
  stalledAt: number | null;
  /** The first full snapshot has been drawn. */
  drawn: boolean;
  /** The recorded viewport, to fit the player to the page. */
  size: { width: number; height: number } | null;
}

const newSession = (pending: number | null): Session => ({
  replayer: null,
  first: 0,
  loadedMs: 0,
  complete: false,
  pending,
  playing: false,
  stalledAt: null,
  drawn: false,
  size: null,
});

/** The earliest and latest event times of `events`. */
function span(events: ReplayEvent[]): [number, number] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const event of events) {
    if (event.timestamp < min) min = event.timestamp;
    if (event.timestamp > max) max = event.timestamp;
  }
  return [min, max];
}

/** Lets the events `addEvent` queued (on a microtask) reach the player. */
const settleAdds = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Scales the recorded viewport down to the stage's width and most of the window's height. */
function fitToStage(root: HTMLElement, session: Session) {
  const { replayer, size } = session;
  if (!replayer || !size?.width || !size.height) return;
  const available = root.parentElement?.clientWidth || size.width;
  const tallest = Math.max(240, (window.innerHeight || 800) * 0.7);
  const scale = Math.min(1, available / size.width, tallest / size.height);
  replayer.wrapper.style.transform = `scale(${scale})`;
  root.style.width = `${Math.floor(size.width * scale)}px`;
  root.style.height = `${Math.floor(size.height * scale)}px`;
}

/**
 * Runs the player for one recording in `root`: loads the chunks, creates the Replayer, applies
 * the opening moment, and answers the controls. `durationMs` is where the timeline ends.
 */
function usePlayer(root: RefObject<HTMLDivElement | null>, { chunks, durationMs, startAt, loadChunk }: PlayerProps) {
  const [view, setView] = useState<View>({
    state: "loading",
    currentMs: startAt ?? 0,
    playing: false,
    buffering: false,
  });
  const [speed, setSpeedState] = useState<number>(1);
  const [skipInactive, setSkipState] = useState(true);
  const session = useRef<Session>(newSession(null));
  const options = useRef({ speed, skipInactive });
  options.current = { speed, skipInactive };
  const update = useCallback((change: Partial<View>) => setView((previous) => ({ ...previous, ...change })), []);
  const sequence = chunks.join(",");

  useEffect(() => {
    const container = root.current;
    if (!container) return;
    const seqs = sequence ? sequence.split(",").map(Number) : [];
    const s = newSession(startAt && startAt > 0 ? Math.min(startAt, durationMs) : null);
    session.current = s;
    let stopped = false;
    const player = import("./rrweb");
    const settle = () => {
      if (!stopped && s.drawn && s.pending === null)
        setView((previous) => (previous.state === "loading" ? { ...previous, state: "ready" } : previous));
    };
    const applyPending = () => {
      if (s.pending === null || !s.replayer) return;
      if (!s.complete && s.pending > s.loadedMs) return;
      // Past the last event the page stays as that event left it; the position is still the
      // one asked for (an error reported just after the recorder's last event, say).
      const target = s.pending;
      s.pending = null;
      if (s.playing) s.replayer.play(target);
      else s.replayer.pause(target);
      update({ currentMs: target, buffering: false });
      settle();
    };
    const onFinish = () => {
      const replayer = s.replayer;
      if (!replayer || !s.playing) return;
      if (s.complete) {
        s.playing = false;
        update({ playing: false, currentMs: Math.min(replayer.getCurrentTime(), s.loadedMs) });
      } else {
        s.stalledAt = replayer.getCurrentTime();
        update({ buffering: true, currentMs: s.stalledAt });
      }
    };
    const onResize = () => fitToStage(container, s);
    window.addEventListener("resize", onResize);

    const run = async () => {
      const events: ReplayEvent[] = [];
      let next = 0;
      while (!s.replayer) {
        if (next >= seqs.length) throw new Error(UNPLAYABLE);
        for (const event of await loadChunk(seqs[next++])) events.push(event);
        if (stopped) return;
        if (events.length < 2 || !events.some((event) => event.type === FULL_SNAPSHOT)) continue;
        const { createReplayer } = await player;
        if (stopped) return;
        const replayer = createReplayer(container, events, options.current);
        const [first, last] = span(events);
        Object.assign(s, { replayer, first, loadedMs: last - first, complete: next >= seqs.length });
        replayer.on("fullsnapshot-rebuilded", () => {
          s.drawn = true;
          settle();
        });
        replayer.on("resize", (size) => {
          s.size = size as Session["size"];
          fitToStage(container, s);
        });
        replayer.on("finish", onFinish);
        // Sets the player's clock to the start; the first frame is drawn right after.
        replayer.pause(0);
        applyPending();
      }
      while (next < seqs.length) {
        const more = await loadChunk(seqs[next++]);
        if (stopped || !s.replayer) return;
        for (const event of more) s.replayer.addEvent(event as unknown as Parameters<Replayer["addEvent"]>[0]);
        await settleAdds();
        if (stopped) return;
        if (more.length) s.loadedMs = Math.max(s.loadedMs, span(more)[1] - s.first);
        s.complete = next >= seqs.length;
        applyPending();
        if (s.stalledAt !== null && s.playing) {
          s.replayer.play(s.stalledAt);
          s.stalledAt = null;
          update({ buffering: false });
        }
      }
    };
    run().catch((error: unknown) => {
      if (stopped) return;
      // A later chunk that fails leaves what was loaded playable.
      if (s.replayer && s.pending === null) update({ error, buffering: false });
      else update({ state: "error", error });
    });
    return () => {
      stopped = true;
      window.removeEventListener("resize", onResize);
      try {
        s.replayer?.destroy();
      } catch {
        // Already torn down with its root.
      }
    };
  }, [root, sequence, startAt, durationMs, loadChunk, update]);

  // The position while playing, a few times a second.
  useEffect(() => {
    if (!view.playing) return;
    const timer = setInterval(() => {
      const s = session.current;
      if (s.replayer && s.pending === null && s.stalledAt === null)
        update({ currentMs: Math.min(s.replayer.getCurrentTime(), Math.max(durationMs, s.loadedMs)) });
    }, 250);
    return () => clearInterval(timer);
  }, [view.playing, durationMs, update]);

  const seek = (ms: number) => {
    const s = session.current;
    const target = Math.max(0, Math.min(Math.round(ms), Math.max(durationMs, s.loadedMs)));
    s.stalledAt = null;
    if (!s.replayer) return;
    if (!s.complete && target > s.loadedMs) {
      s.pending = target;
      update({ currentMs: target, buffering: true });
      return;
    }
    s.pending = null;
    if (s.playing) s.replayer.play(target);
    else s.replayer.pause(target);
    update({ currentMs: target, buffering: false });
  };
  const play = () => {
    const s = session.current;
    if (!s.replayer) return;
    let from = view.currentMs;
    if (s.complete && from >= s.loadedMs - 50) from = 0;
    s.playing = true;
    update({ playing: true, currentMs: from });
    if (s.pending !== null) return; // starts once the events up to it arrived
    s.replayer.play(from);
  };
  const pause = () => {
    const s = session.current;
    s.playing = false;
    s.stalledAt = null;
    if (!s.replayer) return update({ playing: false });
    if (s.pending !== null) return update({ playing: false });
    s.replayer.pause();
    update({ playing: false, currentMs: s.replayer.getCurrentTime() });
  };
  const setSpeed = (value: number) => {
    setSpeedState(value);
    session.current.replayer?.setConfig({ speed: value });
  };
  const setSkipInactive = (value: boolean) => {
    setSkipState(value);
    session.current.replayer?.setConfig({ skipInactive: value });
  };
  return { view, speed, skipInactive, seek, play, pause, setSpeed, setSkipInactive };
}

export interface PlayerProps {
  /** The chunks' numbers, in order. */
  chunks: number[];
  /** The recording's length as the server knows it (the timeline's end before all chunks are in). */
  durationMs: number;
  markers: Marker[];
  /** The moment to open at (`?t=`), in ms from the start. */
  startAt: number | null;
  /** A chunk's events, decoded. */
  loadChunk: (seq: number) => Promise<ReplayEvent[]>;
  /** The issue page of an error marker. */
  issuePath: (issueId: string) => string;
}

/** The player with its controls and its marker list. */
export function Player(props: PlayerProps) {
  const root = useRef<HTMLDivElement>(null);
  const { durationMs, markers, issuePath } = props;
  // The timeline reaches the last marker too: an error may be reported after the last event.
  const endMs = timelineEnd(durationMs, markers);
  const { view, speed, skipInactive, seek, play, pause, setSpeed, setSkipInactive } = usePlayer(root, {
    ...props,
    durationMs: endMs,
  });
  const ready = view.state === "ready";
  const link = momentUrl(window.location.origin, window.location.pathname, view.currentMs);
  return (
    <div className="replay-layout">
      <div className="replay-main">
        <div className={view.state === "loading" ? "replay-stage loading" : "replay-stage"}>
          <div
            ref={root}
            className="replay-player"
            data-testid="replay-player"
            data-replay-state={view.state}
            data-current-ms={Math.round(view.currentMs)}
            inert
          />
          {view.state === "loading" && (
            <div className="replay-overlay" role="status">
              <span className="spinner" aria-hidden="true" /> Loading the recording…
            </div>
          )}
        </div>
        <ErrorNote error={view.error} />
        <Timeline durationMs={endMs} currentMs={view.currentMs} markers={markers} disabled={!ready} onSeek={seek} />
        <div className="replay-controls">
          <button
            type="button"
            className="button button-primary"
            disabled={!ready}
            onClick={() => (view.playing ? pause() : play())}
          >
            {view.playing ? "Pause" : "Play"}
          </button>
          <span className="replay-time">
            <span data-testid="replay-time">{formatClock(view.currentMs)}</span> / {formatClock(endMs)}
          </span>
          {view.buffering && ready && (
            <span className="muted" role="status">
              Loading…
            </span>
          )}
          <fieldset className="segmented plain" aria-label="Speed">
            {SPEEDS.map((value) => (
              <button key={value} type="button" aria-pressed={speed === value} onClick={() => setSpeed(value)}>
                {value}×
              </button>
            ))}
          </fieldset>
          <label className="check-label">
            <input type="checkbox" checked={skipInactive} onChange={(e) => setSkipInactive(e.target.checked)} /> Skip
            inactivity
          </label>
          <CopyButton text={link} label="Copy link to this moment" />
        </div>
        <MarkerLegend />
      </div>
      <section className="replay-side" aria-labelledby="replay-markers-heading">
        <h3 id="replay-markers-heading">Markers</h3>
        {markers.length === 0 ? (
          <p className="muted">No pages, clicks, custom events or errors were marked.</p>
        ) : (
          <ol className="replay-marker-list">
            {markers.map((marker, i) => {
              const kind = markerKind(marker);
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: a recording's markers never change order
                <li key={i} className={`kind-${kind}`}>
                  <button
                    type="button"
                    className="link-button replay-marker-time"
                    disabled={!ready}
                    aria-label={`Go to ${describeMarker(marker)}`}
                    onClick={() => seek(marker.offset_ms)}
                  >
                    {formatClock(marker.offset_ms)}
                  </button>
                  <span className={`replay-marker-swatch marker-${kind}`} aria-hidden="true" />
                  <span className="replay-marker-label">
                    {marker.label || kind}
                    {kind === "error" && marker.issue_id && (
                      <>
                        {" "}
                        <Link to={issuePath(marker.issue_id)}>Open issue</Link>
                      </>
                    )}
                  </span>
                </li>
              );
            })}
          </ol>
        )}
      </section>
    </div>
  );
}
