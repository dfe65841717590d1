// Heatmaps without React: the screen's state as it lives in the URL, the snapshot's size per
// device class, where a click cell lands on the replayed page and how big its circle is, the
// first full snapshot of a recording's chunk, and the API's answers. Kept apart from the screen
// so Vitest covers them directly.
import { api, type Schemas, unwrap } from "../api/client";
import { isCustomPeriod, PERIODS } from "../pages/dashboard/viewState";
import { FULL_SNAPSHOT, type ReplayEvent } from "./replays";

/** A viewport width class: desktop from 1024 px, tablet from 768 px, phone below. */
export type HeatmapDevice = Schemas["WidthClassDto"];

/** Device classes the heatmap API knows, in the order the tabs offer them. */
export const HEATMAP_DEVICES = ["desktop", "tablet", "phone"] as const satisfies readonly HeatmapDevice[];

/** The width the snapshot is laid out at for each device class, in CSS pixels. */
export const DEVICE_WIDTH: Record<HeatmapDevice, number> = { desktop: 1280, tablet: 900, phone: 375 };

export const DEFAULT_PERIOD = "30d";

/** The screen's state: `?page=/pricing&device=phone&period=7d`. */
export interface HeatmapView {
  /** The page path; absent, the page with the most clicks. */
  page?: string;
  device: HeatmapDevice;
  /** A Stats API date range name (`day`, `7d`, `30d`, `month`, …) or `YYYY-MM-DD,YYYY-MM-DD`. */
  period: string;
}

const isDevice = (value: string | null): value is HeatmapDevice =>
  value !== null && (HEATMAP_DEVICES as readonly string[]).includes(value);

/** Whether the API takes `period` (the dashboard's named periods but Realtime, or a range of days). */
export function isHeatmapPeriod(period: string): boolean {
  return (period !== "realtime" && PERIODS.some((p) => p.value === period)) || isCustomPeriod(period);
}

/** The view in a URL query; a device or period the API would refuse falls back to the default. */
export function readHeatmapView(search: URLSearchParams): HeatmapView {
  const view: HeatmapView = { device: "desktop", period: DEFAULT_PERIOD };
  const page = search.get("page")?.trim();
  if (page) view.page = page;
  const device = search.get("device");
  if (isDevice(device)) view.device = device;
  const period = search.get("period") ?? "";
  if (isHeatmapPeriod(period)) view.period = period;
  return view;
}

/** The query string for `view` (without `?`); defaults are left out. */
export function writeHeatmapView(view: HeatmapView): string {
  const search = new URLSearchParams();
  if (view.page) search.set("page", view.page);
  if (view.device !== "desktop") search.set("device", view.device);
  if (view.period !== DEFAULT_PERIOD) search.set("period", view.period);
  return search.toString();
}

/** A device class's name as the screen writes it in a sentence. */
export function deviceName(device: string): string {
  return device === "phone" ? "phones" : device === "tablet" ? "tablets" : device;
}

// The API's answers.
export type HeatmapPage = Schemas["HeatmapPageOut"];
/** Clicks in one 10×10 cell of an element; `x` and `y` are the cell's centre, 0 to 1 of its box. */
export type HeatmapCell = Schemas["HeatmapCellOut"];
export type HeatmapElement = Schemas["HeatmapElementOut"];
/** The share (0 to 100) of pageviews that scrolled down to `depth` percent of the page. */
export type ScrollBand = Schemas["ScrollBandOut"];
export type Heatmap = Schemas["HeatmapOut"];

/** The pages with heatmap data on `device` over `period`, most clicked first (top 50). */
export function listHeatmapPages(
  orgId: string,
  projectId: string,
  device: HeatmapDevice,
  period: string,
): Promise<HeatmapPage[]> {
  return unwrap(
    api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/heatmap/pages", {
      params: { path: { org_id: orgId, project_id: projectId }, query: { device, period } },
    }),
  );
}

/** The clicks and scroll depth of `page` on `device` over `period`. */
export function getHeatmap(
  orgId: string,
  projectId: string,
  page: string,
  device: HeatmapDevice,
  period: string,
): Promise<Heatmap> {
  return unwrap(
    api.GET("/api/v1/orgs/{org_id}/projects/{project_id}/heatmap", {
      params: { path: { org_id: orgId, project_id: projectId }, query: { page, device, period } },
    }),
  );
}

/**
 * The events that draw a chunk's first full snapshot: everything up to it (the meta event with
 * the viewport, usually), and it. Null when the chunk has none.
 */
export function firstSnapshot(events: ReplayEvent[]): ReplayEvent[] | null {
  const at = events.findIndex((event) => event.type === FULL_SNAPSHOT);
  return at < 0 ? null : events.slice(0, at + 1);
}

/** An element's box in the replayed page's coordinates (a `DOMRect` will do). */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Where the cell's centre lands over the snapshot: the point `x`, `y` (0 to 1) inside the
 * element's box, in the replayed page's pixels, times the scale the snapshot is drawn at.
 */
export function pointIn(rect: Box, cell: Pick<HeatmapCell, "x" | "y">, scale: number): { left: number; top: number } {
  const x = Math.min(1, Math.max(0, cell.x));
  const y = Math.min(1, Math.max(0, cell.y));
  return { left: (rect.left + x * rect.width) * scale, top: (rect.top + y * rect.height) * scale };
}

/** The smallest and largest circle, in pixels of radius on screen. */
export const BUBBLE_RADIUS = { min: 6, max: 26 } as const;
/** The faintest and the strongest circle. */
export const BUBBLE_OPACITY = { min: 0.3, max: 0.85 } as const;

/**
 * A circle for `clicks` when the most clicked cell has `most`: its area grows with the clicks
 * (the radius with their square root), its opacity with the clicks themselves.
 */
export function bubble(clicks: number, most: number): { radius: number; opacity: number } {
  const share = most > 0 ? Math.min(1, Math.max(0, clicks / most)) : 0;
  const radius = BUBBLE_RADIUS.min + (BUBBLE_RADIUS.max - BUBBLE_RADIUS.min) * Math.sqrt(share);
  const opacity = BUBBLE_OPACITY.min + (BUBBLE_OPACITY.max - BUBBLE_OPACITY.min) * share;
  return { radius: Math.round(radius * 10) / 10, opacity: Math.round(opacity * 100) / 100 };
}

/** A circle drawn over the snapshot, in the overlay's pixels. */
export interface HeatmapPoint {
  selector: string;
  clicks: number;
  left: number;
  top: number;
  radius: number;
  opacity: number;
}

/**
 * The circles for `cells` over the replayed document `doc` drawn at `scale`, in an overlay of
 * `width` × `height` (the snapshot's size on screen). A cell is left out when its selector is
 * not valid CSS, matches nothing, matches an element that is not laid out (no box), or lands
 * outside the snapshot.
 */
export function placePoints(
  doc: Pick<Document, "querySelector">,
  cells: HeatmapCell[],
  scale: number,
  size: { width: number; height: number },
): HeatmapPoint[] {
  const most = cells.reduce((max, cell) => Math.max(max, cell.clicks), 0);
  const found = new Map<string, Element | null>();
  const points: HeatmapPoint[] = [];
  for (const cell of cells) {
    if (!found.has(cell.selector)) {
      let element: Element | null = null;
      try {
        element = doc.querySelector(cell.selector);
      } catch {
        // Not a selector this browser understands: nothing to draw on.
      }
      found.set(cell.selector, element);
    }
    const element = found.get(cell.selector);
    if (!element) continue;
    const rect = element.getBoundingClientRect();
    if (rect.width <= 0 && rect.height <= 0) continue;
    const { left, top } = pointIn(rect, cell, scale);
    if (left < 0 || top < 0 || left > size.width || top > size.height) continue;
    points.push({ selector: cell.selector, clicks: cell.clicks, left, top, ...bubble(cell.clicks, most) });
  }
  // The busiest drawn last, on top.
  return points.sort((a, b) => a.clicks - b.clicks);
}

/** The scale that fits a page `width` wide into `available` pixels (never enlarged). */
export function fitScale(available: number, width: number): number {
  if (!(available > 0) || !(width > 0)) return 1;
  return Math.min(1, available / width);
}

/** Tallest the snapshot is laid out, in the page's pixels: a very long page is cut there. */
export const MAX_SNAPSHOT_HEIGHT = 12_000;

/** "Reached 50%: 62% of 120 pageviews". */
export function describeBand(band: ScrollBand, pageviews: number): string {
  return `Reached ${band.depth}%: ${Math.round(band.share)}% of ${pageviews.toLocaleString("en")} ${
    pageviews === 1 ? "pageview" : "pageviews"
  }`;
}
