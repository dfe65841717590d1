// The recorded page under a heatmap: the first full snapshot of a recording's chunk 0, rebuilt
// by rrweb's Replayer (loaded on demand, as for the player) and left paused at its start, laid
// out at the device class's width (1280, 900 or 375 px) and as tall as the page, scaled down to
// the card; over it a circle per click cell, placed on the element its selector finds in the
// replayed document.
//
// For tests, the overlay carries `data-testid="heatmap-overlay"` and `data-heatmap-state`
// (`loading`, also while another heatmap is on its way; `ready` once the circles are drawn on
// the settled page; `error`), and each circle `data-selector` and `data-clicks`.
import { useEffect, useMemo, useRef, useState } from "react";
import { ErrorNote } from "../../components/ui";
import {
  DEVICE_WIDTH,
  firstSnapshot,
  fitScale,
  type HeatmapCell,
  type HeatmapDevice,
  MAX_SNAPSHOT_HEIGHT,
  placePoints,
} from "../../lib/heatmaps";
import type { ReplayEvent } from "../../lib/replays";
import type { Replayer } from "../replays/rrweb";

/** Shown when chunk 0 holds no full snapshot after all. */
export const NO_FULL_SNAPSHOT = "The recording's first chunk has no full snapshot, so there is nothing to draw on.";

/** How long after the rebuild the page is measured again (its images and fonts settle). */
export const SETTLE_MS = 250;

/** The replayed page as laid out: its document and its size on screen. */
interface Frame {
  doc: Document;
  scale: number;
  width: number;
  height: number;
}

export function HeatmapSnapshot({
  device,
  page,
  cells,
  loadChunk,
  stale = false,
}: {
  device: HeatmapDevice;
  /** The page's path, for the words that name the picture. */
  page: string;
  cells: HeatmapCell[];
  /** Chunk 0 of the recording, decoded. */
  loadChunk: () => Promise<ReplayEvent[]>;
  /** Another heatmap is on its way (another device or period): the circles are not its yet. */
  stale?: boolean;
}) {
  const stage = useRef<HTMLElement>(null);
  const root = useRef<HTMLDivElement>(null);
  const [frame, setFrame] = useState<Frame | null>(null);
  const [state, setState] = useState<{ status: "loading" | "ready" | "error"; error?: unknown }>({
    status: "loading",
  });

  useEffect(() => {
    const container = root.current;
    const box = stage.current;
    if (!container || !box) return;
    const width = DEVICE_WIDTH[device];
    let stopped = false;
    let replayer: Replayer | null = null;
    /** The recorded viewport's height: the snapshot is never shorter. */
    let viewportHeight = 800;
    let settle: ReturnType<typeof setTimeout> | undefined;
    setFrame(null);
    setState({ status: "loading" });

    const layout = (settled: boolean) => {
      const iframe = replayer?.iframe;
      const doc = iframe?.contentDocument;
      if (stopped || !replayer || !iframe || !doc) return;
      iframe.style.display = "block";
      iframe.setAttribute("width", String(width));
      // Measured at the viewport's height first, so a page as tall as its viewport stays so.
      iframe.setAttribute("height", String(viewportHeight));
      const content = Math.max(doc.documentElement?.scrollHeight ?? 0, doc.body?.scrollHeight ?? 0);
      const height = Math.min(MAX_SNAPSHOT_HEIGHT, Math.max(viewportHeight, content));
      iframe.setAttribute("height", String(height));
      doc.defaultView?.scrollTo?.(0, 0);
      const scale = fitScale(box.clientWidth, width);
      replayer.wrapper.style.transform = `scale(${scale})`;
      container.style.width = `${Math.floor(width * scale)}px`;
      container.style.height = `${Math.floor(height * scale)}px`;
      setFrame({ doc, scale, width: width * scale, height: height * scale });
      if (settled) setState({ status: "ready" });
    };
    const onResize = () => layout(true);
    window.addEventListener("resize", onResize);

    const run = async () => {
      const events = firstSnapshot(await loadChunk());
      if (stopped) return;
      if (!events) throw new Error(NO_FULL_SNAPSHOT);
      const { createReplayer } = await import("../replays/rrweb");
      if (stopped) return;
      replayer = createReplayer(container, events, { speed: 1, skipInactive: false });
      replayer.iframe.title = `The page ${page} as recorded, under the heatmap`;
      replayer.on("resize", (size) => {
        const recorded = (size as { height?: number } | undefined)?.height;
        if (recorded && recorded > 0) viewportHeight = recorded;
        // rrweb has just set the recorded viewport's size on the frame: lay it out again.
        layout(false);
      });
      replayer.on("fullsnapshot-rebuilded", () => {
        layout(false);
        clearTimeout(settle);
        settle = setTimeout(() => layout(true), SETTLE_MS);
      });
      // Paused at the start: the snapshot, and nothing after it.
      replayer.pause(0);
    };
    run().catch((error: unknown) => {
      if (!stopped) setState({ status: "error", error });
    });
    return () => {
      stopped = true;
      clearTimeout(settle);
      window.removeEventListener("resize", onResize);
      try {
        replayer?.destroy();
      } catch {
        // Already torn down with its root.
      }
    };
  }, [device, page, loadChunk]);

  const points = useMemo(() => (frame ? placePoints(frame.doc, cells, frame.scale, frame) : []), [frame, cells]);
  const drawn = state.status === "ready";
  return (
    <figure className="heatmap-figure">
      <section
        ref={stage}
        className={state.status === "loading" ? "heatmap-stage loading" : "heatmap-stage"}
        // Scrolls when the page is taller than the card: reachable by keyboard.
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be focusable to scroll by keyboard
        tabIndex={0}
        aria-label={`Snapshot of ${page} with its clicks`}
      >
        <div className="heatmap-canvas">
          <div ref={root} className="replay-player heatmap-player" data-testid="heatmap-snapshot" inert />
          <div
            className="heatmap-overlay"
            data-testid="heatmap-overlay"
            data-heatmap-state={stale && state.status === "ready" ? "loading" : state.status}
            data-points={drawn ? points.length : undefined}
            aria-hidden="true"
            style={frame ? { width: frame.width, height: frame.height } : undefined}
          >
            {drawn &&
              points.map((point, i) => (
                <span
                  // biome-ignore lint/suspicious/noArrayIndexKey: one circle per cell, redrawn as a whole
                  key={i}
                  className="heatmap-point"
                  data-selector={point.selector}
                  data-clicks={point.clicks}
                  style={{
                    left: point.left - point.radius,
                    top: point.top - point.radius,
                    width: point.radius * 2,
                    height: point.radius * 2,
                    opacity: point.opacity,
                  }}
                />
              ))}
          </div>
        </div>
        {state.status === "loading" && (
          <div className="replay-overlay" role="status">
            <span className="spinner" aria-hidden="true" /> Loading the snapshot…
          </div>
        )}
      </section>
      <ErrorNote error={state.error} />
      <figcaption className="muted small">
        {drawn
          ? `${points.length} ${points.length === 1 ? "spot" : "spots"} clicked, drawn on a recording of this page: the bigger and darker a circle, the more clicks. Elements the recording does not show are only in the table.`
          : "The circles mark where visitors clicked: the bigger and darker, the more clicks."}
      </figcaption>
    </figure>
  );
}
