// Session replay without React: the list's filters as they live in the URL, player times, where
// a marker sits on the timeline, and a stored chunk decoded into rrweb events. Kept apart from
// the screens so Vitest covers them directly.
import type { Schemas } from "../api/client";

/** The recordings list's filters; an absent field does not filter. */
export interface ReplayFilters {
  page?: string;
  has_error?: boolean;
  device?: string;
  country?: string;
  min_duration_s?: number;
  days?: number;
  /** With `dropped_at`: only visitors who dropped off at that step of this funnel. */
  funnel_id?: string;
  dropped_at?: number;
  /** Only visitors in this saved segment (over `period`). */
  segment_id?: string;
  /** The period the funnel or the segment is evaluated over (as the Stats API's). */
  period?: string;
}

/** Device classes the API knows, in the order the filter offers them. */
export const DEVICES = ["desktop", "mobile", "tablet"] as const;

/** "Started within" choices, in days. */
export const DAY_CHOICES = [1, 7, 30, 90] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const positive = (value: string | null): number | undefined => {
  if (!value || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 ? n : undefined;
};

/**
 * The filters in a URL query (`?page=/pricing&has_error=true&device=mobile&country=DE&
 * min_duration_s=30&days=7`, a funnel's drop-offs `funnel_id=…&dropped_at=3`, a saved segment
 * `segment_id=…`, and the period those two are evaluated over, `period=30d`);
 * values the API would refuse are dropped.
 */
export function readFilters(search: URLSearchParams): ReplayFilters {
  const filters: ReplayFilters = {};
  const page = search.get("page")?.trim();
  if (page) filters.page = page;
  const error = search.get("has_error");
  if (error === "true" || error === "false") filters.has_error = error === "true";
  const device = search.get("device");
  if (device && (DEVICES as readonly string[]).includes(device)) filters.device = device;
  const country = search.get("country")?.trim().toUpperCase();
  if (country && /^[A-Z]{2}$/.test(country)) filters.country = country;
  const min = positive(search.get("min_duration_s"));
  if (min !== undefined) filters.min_duration_s = min;
  const days = positive(search.get("days"));
  if (days !== undefined) filters.days = days;
  const funnel = search.get("funnel_id");
  const step = positive(search.get("dropped_at"));
  if (funnel && UUID.test(funnel) && step !== undefined && step >= 2) {
    filters.funnel_id = funnel;
    filters.dropped_at = step;
  }
  const segment = search.get("segment_id");
  if (segment && UUID.test(segment)) filters.segment_id = segment;
  const period = search.get("period");
  if (period && (filters.funnel_id || filters.segment_id)) filters.period = period;
  return filters;
}

/** The query string for `filters` (without `?`), empty when nothing filters. */
export function writeFilters(filters: ReplayFilters): string {
  const search = new URLSearchParams();
  if (filters.page) search.set("page", filters.page);
  if (filters.has_error !== undefined) search.set("has_error", String(filters.has_error));
  if (filters.device) search.set("device", filters.device);
  if (filters.country) search.set("country", filters.country);
  if (filters.min_duration_s) search.set("min_duration_s", String(filters.min_duration_s));
  if (filters.days) search.set("days", String(filters.days));
  if (filters.funnel_id && filters.dropped_at) {
    search.set("funnel_id", filters.funnel_id);
    search.set("dropped_at", String(filters.dropped_at));
  }
  if (filters.segment_id) search.set("segment_id", filters.segment_id);
  if (filters.period && (search.has("funnel_id") || search.has("segment_id"))) search.set("period", filters.period);
  return search.toString();
}

/** Whether any filter is set (the empty state then says "no match" rather than how to start). */
export const isFiltered = (filters: ReplayFilters) => writeFilters(filters) !== "";

/** A player time: `m:ss`, or `h:mm:ss` from an hour on. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const s = String(total % 60).padStart(2, "0");
  const m = Math.floor(total / 60);
  if (m < 60) return `${m}:${s}`;
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${s}`;
}

/** Where `offsetMs` sits on a timeline of `durationMs`, in percent (0 to 100). */
export function markerPercent(offsetMs: number, durationMs: number): number {
  if (!(durationMs > 0)) return 0;
  return Math.min(100, Math.max(0, (offsetMs / durationMs) * 100));
}

/** The moment a player link opens at (`?t=` in milliseconds), or null. */
export function readMoment(search: URLSearchParams): number | null {
  const t = search.get("t");
  return t && /^\d+$/.test(t) ? Number(t) : null;
}

/** The URL of the player at `ms` (what "Copy link to this moment" copies). */
export function momentUrl(origin: string, path: string, ms: number): string {
  return `${origin}${path}?t=${Math.max(0, Math.round(ms))}`;
}

export type Marker = Schemas["MarkerOut"];
export type MarkerKind = "page" | "click" | "custom" | "error";

/** How each kind of marker is named (the timeline's legend and the marker list). */
export const MARKER_KINDS: { kind: MarkerKind; label: string }[] = [
  { kind: "page", label: "Page" },
  { kind: "click", label: "Click" },
  { kind: "custom", label: "Custom event" },
  { kind: "error", label: "Error" },
];

/** A marker's kind, `custom` for any the dashboard does not know yet. */
export function markerKind(marker: Marker): MarkerKind {
  return (["page", "click", "custom", "error"] as const).find((k) => k === marker.kind) ?? "custom";
}

/** A marker in words: "Error: TypeError: x is undefined at 1:05". */
export function describeMarker(marker: Marker): string {
  const kind = MARKER_KINDS.find((k) => k.kind === markerKind(marker))?.label ?? marker.kind;
  return `${kind}${marker.label ? `: ${marker.label}` : ""} at ${formatClock(marker.offset_ms)}`;
}

/** One rrweb event as stored: its type (2 is a full snapshot) and its time in ms since 1970. */
export interface ReplayEvent {
  type: number;
  timestamp: number;
  data?: unknown;
}

/** rrweb's `EventType.FullSnapshot`: the whole page, which playing needs first. */
export const FULL_SNAPSHOT = 2;

/**
 * A chunk's rrweb events from its stored body: a gzip-compressed JSON array (recognised by its
 * `1f 8b` header), or the plain JSON array.
 */
export async function decodeChunk(body: ArrayBuffer): Promise<ReplayEvent[]> {
  const bytes = new Uint8Array(body);
  let events: unknown;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Response(body).body;
    if (!stream) throw new Error("The recording's chunk is empty.");
    events = await new Response(stream.pipeThrough(new DecompressionStream("gzip"))).json();
  } else {
    events = JSON.parse(new TextDecoder().decode(bytes));
  }
  if (!Array.isArray(events)) throw new Error("The recording's chunk is not a list of events.");
  return events
    .filter((e): e is ReplayEvent => typeof e === "object" && e !== null && typeof e.timestamp === "number")
    .map(withoutInlineHandlers);
}

/** rrweb's `EventType.IncrementalSnapshot` and its `IncrementalSource.Mutation`. */
const INCREMENTAL = 3;
const MUTATION = 0;

type Attributes = Record<string, unknown>;
interface SerializedNode {
  attributes?: Attributes;
  childNodes?: SerializedNode[];
}

/** Renames `on…` attributes to `_on…`, as rrweb itself does for `onload` and `onclick`. */
function renameHandlers(attributes: Attributes | undefined) {
  if (!attributes || typeof attributes !== "object") return;
  for (const name of Object.keys(attributes)) {
    if (!/^on/i.test(name)) continue;
    attributes[`_${name}`] = attributes[name];
    delete attributes[name];
  }
}

function renameInTree(node: SerializedNode | undefined) {
  const stack = [node];
  while (stack.length > 0) {
    const next = stack.pop();
    if (!next || typeof next !== "object") continue;
    renameHandlers(next.attributes);
    if (Array.isArray(next.childNodes)) for (const child of next.childNodes) stack.push(child);
  }
}

/**
 * The event with the recorded page's inline event handlers (`onsubmit="…"`) renamed, in its
 * snapshot and its attribute changes. The player's iframe runs no script anyway; this keeps a
 * recording's handlers inert even so, and spares the console a "Blocked script execution"
 * error for each.
 */
export function withoutInlineHandlers(event: ReplayEvent): ReplayEvent {
  const data = event.data as
    | {
        node?: SerializedNode;
        source?: number;
        adds?: { node?: SerializedNode }[];
        attributes?: { attributes?: Attributes }[];
      }
    | undefined;
  if (!data || typeof data !== "object") return event;
  if (event.type === FULL_SNAPSHOT) renameInTree(data.node);
  if (event.type === INCREMENTAL && data.source === MUTATION) {
    if (Array.isArray(data.adds)) for (const add of data.adds) renameInTree(add?.node);
    if (Array.isArray(data.attributes)) for (const change of data.attributes) renameHandlers(change?.attributes);
  }
  return event;
}

/** Where the timeline ends: the recording's length, or its last marker if that comes later. */
export function timelineEnd(durationMs: number, markers: Marker[]): number {
  return markers.reduce((end, marker) => Math.max(end, marker.offset_ms), Math.max(0, durationMs));
}

/** A sample rate (0 to 1) as the percent the settings show: 0.07 → "7". */
export function percentFromRate(rate: number): string {
  return String(Math.round(rate * 10_000) / 100);
}

/** The sample rate (0 to 1) for a typed percent, or null when it is not a number from 0 to 100. */
export function rateFromPercent(percent: string): number | null {
  const text = percent.trim().replace(",", ".");
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const value = Number(text);
  return value <= 100 ? Math.round(value * 100) / 10_000 : null;
}
