import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Schemas } from "../src/api/client";
import { ProjectContext } from "../src/components/ProjectFrame";
import {
  BUBBLE_OPACITY,
  BUBBLE_RADIUS,
  bubble,
  DEVICE_WIDTH,
  describeBand,
  firstSnapshot,
  fitScale,
  type Heatmap,
  type HeatmapCell,
  isHeatmapPeriod,
  placePoints,
  pointIn,
  readHeatmapView,
  writeHeatmapView,
} from "../src/lib/heatmaps";
import type { ReplayEvent } from "../src/lib/replays";
import { documentLoad, Router } from "../src/lib/router";
import { HeatmapsPage, noSnapshotText } from "../src/pages/heatmaps/HeatmapsPage";
import { ReplaySettings } from "../src/pages/settings/ReplaySettings";
import { json, requests, respondWith } from "./setup";

/** Boxes of the replayed page's elements, by id, as the stand-in layout reports them. */
const layout = new Map<string, { left: number; top: number; width: number; height: number }>();

/** Gives `element` the box `layout` holds for its id (jsdom lays nothing out). */
function boxed(element: Element) {
  element.getBoundingClientRect = () => {
    const box = layout.get(element.id) ?? { left: 0, top: 0, width: 0, height: 0 };
    return { ...box, right: box.left + box.width, bottom: box.top + box.height, x: box.left, y: box.top } as DOMRect;
  };
  return element;
}

/** A stand-in for rrweb's Replayer: an iframe whose document has the elements `layout` names. */
class FakeReplayer {
  static made: FakeReplayer[] = [];
  wrapper = document.createElement("div");
  iframe = document.createElement("iframe");
  events: ReplayEvent[];
  calls: string[] = [];
  private handlers = new Map<string, (payload?: unknown) => void>();

  constructor(root: HTMLElement, events: ReplayEvent[]) {
    this.events = [...events];
    root.appendChild(this.wrapper);
    this.wrapper.appendChild(this.iframe);
    FakeReplayer.made.push(this);
    // Like rrweb: the viewport's size from the meta event, then the snapshot rebuilt.
    setTimeout(() => {
      const doc = this.iframe.contentDocument as Document;
      // jsdom does not scroll.
      if (this.iframe.contentWindow) this.iframe.contentWindow.scrollTo = () => {};
      for (const id of layout.keys()) {
        const element = doc.createElement(id === "buy" ? "button" : "div");
        element.id = id;
        doc.body.appendChild(boxed(element));
      }
      this.handlers.get("resize")?.({ width: 1440, height: 900 });
      this.handlers.get("fullsnapshot-rebuilded")?.();
    }, 1);
  }
  on(name: string, handler: (payload?: unknown) => void) {
    this.handlers.set(name, handler);
    return this;
  }
  pause(at?: number) {
    this.calls.push(`pause(${at})`);
  }
  destroy() {
    this.calls.push("destroy");
  }
}

vi.mock("../src/pages/replays/rrweb", () => ({
  createReplayer: (root: HTMLElement, events: ReplayEvent[]) => new FakeReplayer(root, events),
}));

const T0 = 1_764_000_000_000;
const chunk0: ReplayEvent[] = [
  { type: 4, timestamp: T0, data: { href: "https://shop.example/pricing", width: 1440, height: 900 } },
  { type: 2, timestamp: T0 + 5, data: { node: {} } },
  { type: 3, timestamp: T0 + 4_000, data: {} },
];

const project = { id: "p1", org_id: "o1", name: "Shop", domains: ["shop.example"] } as Schemas["ProjectOut"];

function inProject(children: React.ReactNode, role = "admin") {
  return (
    <Router>
      <ProjectContext.Provider value={{ project, role, reload: () => {} }}>{children}</ProjectContext.Provider>
    </Router>
  );
}

const heatmap: Heatmap = {
  page: "/pricing",
  device: "desktop",
  from: "2026-11-01",
  to: "2026-11-30",
  pageviews: 120,
  clicks: 48,
  rage_clicks: 5,
  cells: [
    { selector: "#buy", x: 0.25, y: 0.5, clicks: 30 },
    { selector: "#buy", x: 0.75, y: 0.5, clicks: 10 },
    { selector: "#plans", x: 0.05, y: 0.95, clicks: 8 },
    { selector: "#gone", x: 0.5, y: 0.5, clicks: 3 },
    { selector: "div[", x: 0.5, y: 0.5, clicks: 2 },
  ],
  elements: [
    { selector: "#buy", clicks: 40, rage_clicks: 5 },
    { selector: "#plans", clicks: 8, rage_clicks: 0 },
  ],
  scroll: [
    { depth: 10, reached: 120, share: 100 },
    { depth: 50, reached: 74, share: 61.7 },
    { depth: 100, reached: 30, share: 25 },
  ],
  snapshot: { replay_id: "r1", started_at: new Date(T0).toISOString(), duration_s: 95, clicks: 12 },
};

const pages = [
  { page: "/pricing", clicks: 48, pageviews: 120 },
  { page: "/", clicks: 20, pageviews: 300 },
];

beforeEach(() => {
  FakeReplayer.made = [];
  layout.clear();
  window.history.replaceState(null, "", "/");
  vi.spyOn(window, "scrollTo").mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("heatmap helpers", () => {
  it("keep the page, device and period in the URL, dropping what the API would refuse", () => {
    expect(readHeatmapView(new URLSearchParams(""))).toEqual({ device: "desktop", period: "30d" });
    expect(writeHeatmapView({ device: "desktop", period: "30d" })).toBe("");
    const view = readHeatmapView(new URLSearchParams("page=/pricing&device=phone&period=7d"));
    expect(view).toEqual({ page: "/pricing", device: "phone", period: "7d" });
    expect(writeHeatmapView(view)).toBe("page=%2Fpricing&device=phone&period=7d");
    expect(readHeatmapView(new URLSearchParams(writeHeatmapView(view)))).toEqual(view);
    expect(readHeatmapView(new URLSearchParams("period=2026-11-01,2026-11-07&device=tablet"))).toEqual({
      device: "tablet",
      period: "2026-11-01,2026-11-07",
    });
    // The replay filter's `mobile` is not a heatmap device class; Realtime is not a period here.
    expect(readHeatmapView(new URLSearchParams("page=%20&device=mobile&period=realtime"))).toEqual({
      device: "desktop",
      period: "30d",
    });
    expect(isHeatmapPeriod("day")).toBe(true);
    expect(isHeatmapPeriod("month")).toBe(true);
    expect(isHeatmapPeriod("5y")).toBe(false);
  });

  it("place a cell's centre inside its element's box, at the snapshot's scale", () => {
    const rect = { left: 100, top: 200, width: 200, height: 40 };
    expect(pointIn(rect, { x: 0.25, y: 0.5 }, 1)).toEqual({ left: 150, top: 220 });
    expect(pointIn(rect, { x: 0.25, y: 0.5 }, 0.5)).toEqual({ left: 75, top: 110 });
    expect(pointIn(rect, { x: 0.05, y: 0.95 }, 1)).toEqual({ left: 110, top: 238 });
    // Out-of-range cells stay on the element's edge.
    expect(pointIn(rect, { x: 1.5, y: -1 }, 1)).toEqual({ left: 300, top: 200 });
  });

  it("grow a circle's area and opacity with its clicks", () => {
    expect(bubble(100, 100)).toEqual({ radius: BUBBLE_RADIUS.max, opacity: BUBBLE_OPACITY.max });
    expect(bubble(0, 100)).toEqual({ radius: BUBBLE_RADIUS.min, opacity: BUBBLE_OPACITY.min });
    // A quarter of the clicks: half the way in radius (a quarter of the extra area), a quarter in opacity.
    expect(bubble(25, 100)).toEqual({ radius: 16, opacity: 0.44 });
    expect(bubble(5, 0)).toEqual({ radius: BUBBLE_RADIUS.min, opacity: BUBBLE_OPACITY.min });
    const sizes = [1, 2, 5, 10, 50].map((clicks) => bubble(clicks, 50).radius);
    expect([...sizes].sort((a, b) => a - b)).toEqual(sizes);
  });

  it("draw a circle per cell whose element is laid out on the snapshot, and skip the others", () => {
    const doc = document.implementation.createHTMLDocument("page");
    layout.set("buy", { left: 100, top: 200, width: 200, height: 40 });
    layout.set("plans", { left: 0, top: 1000, width: 400, height: 300 });
    layout.set("hidden", { left: 0, top: 0, width: 0, height: 0 });
    for (const id of ["buy", "plans", "hidden"]) {
      const element = doc.createElement("div");
      element.id = id;
      doc.body.appendChild(boxed(element));
    }
    const cells: HeatmapCell[] = [
      { selector: "#buy", x: 0.25, y: 0.5, clicks: 40 },
      { selector: "#plans", x: 0.05, y: 0.95, clicks: 10 },
      { selector: "#hidden", x: 0.5, y: 0.5, clicks: 9 },
      { selector: "#nowhere", x: 0.5, y: 0.5, clicks: 8 },
      { selector: "a[href=", x: 0.5, y: 0.5, clicks: 7 },
    ];
    const points = placePoints(doc, cells, 0.5, { width: 640, height: 1000 });
    // The busiest last (drawn on top); #plans at 1285 × 0.5 = 642.5 is inside.
    expect(points).toEqual([
      { selector: "#plans", clicks: 10, left: 10, top: 642.5, ...bubble(10, 40) },
      { selector: "#buy", clicks: 40, left: 75, top: 110, ...bubble(40, 40) },
    ]);
    // A snapshot cut shorter than the page leaves out what falls below it.
    expect(placePoints(doc, cells, 0.5, { width: 640, height: 400 }).map((p) => p.selector)).toEqual(["#buy"]);
  });

  it("take a chunk's first full snapshot, fit it into the card and say how far visitors scrolled", () => {
    expect(firstSnapshot(chunk0)).toEqual(chunk0.slice(0, 2));
    expect(firstSnapshot([chunk0[0], chunk0[2]])).toBeNull();
    expect(fitScale(640, DEVICE_WIDTH.desktop)).toBe(0.5);
    expect(fitScale(1600, DEVICE_WIDTH.phone)).toBe(1);
    expect(fitScale(0, DEVICE_WIDTH.tablet)).toBe(1);
    expect(describeBand({ depth: 50, reached: 74, share: 61.7 }, 120)).toBe("Reached 50%: 62% of 120 pageviews");
    expect(describeBand({ depth: 10, reached: 1, share: 100 }, 1)).toBe("Reached 10%: 100% of 1 pageview");
  });
});

/** Answers the heatmap API: the pages list, the heatmap and chunk 0 (plain JSON). */
function serve(answer: { pages?: unknown; heatmap?: unknown; settings?: unknown }) {
  respondWith((request) => {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/heatmap/pages")) return json(answer.pages ?? pages);
    if (path.endsWith("/heatmap")) return json(answer.heatmap ?? heatmap);
    if (path.endsWith("/replay-settings")) return json(answer.settings ?? {});
    if (path.endsWith("/chunks/0"))
      return new Response(JSON.stringify(chunk0), { headers: { "content-type": "application/octet-stream" } });
    return new Response("unexpected", { status: 599 });
  });
}

describe("HeatmapsPage", () => {
  it("draws the clicks over the snapshot, scaled to the card, with the elements and the scroll depth", async () => {
    window.history.replaceState(null, "", "/orgs/o1/projects/p1/heatmaps?page=/pricing&device=desktop&period=day");
    layout.set("buy", { left: 100, top: 200, width: 200, height: 40 });
    layout.set("plans", { left: 0, top: 400, width: 400, height: 300 });
    // The card is 640 px wide: the 1280 px desktop layout is drawn at half size.
    vi.spyOn(Element.prototype, "clientWidth", "get").mockReturnValue(640);
    serve({});
    render(inProject(<HeatmapsPage />));
    const overlay = await screen.findByTestId("heatmap-overlay");
    await waitFor(() => expect(overlay.dataset.heatmapState).toBe("ready"), { timeout: 3_000 });

    const sent = requests.map((r) => new URL(r.url));
    const pagesCall = sent.find((u) => u.pathname.endsWith("/heatmap/pages"));
    expect(Object.fromEntries(pagesCall?.searchParams ?? [])).toEqual({ device: "desktop", period: "day" });
    const heatmapCall = sent.find((u) => u.pathname === "/api/v1/orgs/o1/projects/p1/heatmap");
    expect(Object.fromEntries(heatmapCall?.searchParams ?? [])).toEqual({
      page: "/pricing",
      device: "desktop",
      period: "day",
    });
    expect(sent.some((u) => u.pathname === "/api/v1/orgs/o1/projects/p1/replays/r1/chunks/0")).toBe(true);
    // The recording drawn over is named, with a link to it.
    const source = screen.getByTestId("heatmap-snapshot-source");
    expect(source.textContent).toContain("1m 35s, 12 clicks");
    expect(source.querySelector("a")?.getAttribute("href")).toBe("/orgs/o1/projects/p1/replays/r1");

    // Only the events up to the first full snapshot, paused at the start.
    const replayer = FakeReplayer.made[0];
    expect(replayer.events).toEqual(chunk0.slice(0, 2));
    expect(replayer.calls).toEqual(["pause(0)"]);
    expect(replayer.iframe.getAttribute("width")).toBe("1280");
    expect(replayer.iframe.getAttribute("height")).toBe("900");
    expect(replayer.wrapper.style.transform).toBe("scale(0.5)");
    expect(overlay.style.width).toBe("640px");
    expect(overlay.style.height).toBe("450px");

    // #gone matches nothing and `div[` is not a selector: three circles.
    const points = [...overlay.querySelectorAll<HTMLElement>("[data-selector]")];
    expect(points.map((p) => [p.dataset.selector, p.dataset.clicks])).toEqual([
      ["#plans", "8"],
      ["#buy", "10"],
      ["#buy", "30"],
    ]);
    expect(overlay.dataset.points).toBe("3");
    const busiest = points[2];
    const { radius, opacity } = bubble(30, 30);
    // Centre (100 + 0.25 × 200, 200 + 0.5 × 40) × 0.5 = (75, 110).
    expect(busiest.style.left).toBe(`${75 - radius}px`);
    expect(busiest.style.top).toBe(`${110 - radius}px`);
    expect(busiest.style.width).toBe(`${radius * 2}px`);
    expect(busiest.style.opacity).toBe(String(opacity));
    expect(Number(points[0].style.opacity)).toBeLessThan(opacity);

    expect(screen.getByTestId("heatmap-rage-clicks").textContent).toBe("5");
    const table = screen.getByRole("table");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(
      rows.map((row) =>
        within(row)
          .getAllByRole("cell")
          .map((cell) => cell.textContent),
      ),
    ).toEqual([
      ["#buy", "40", "5"],
      ["#plans", "8", "0"],
    ]);
    const bands = screen.getByRole("list", { name: "Share of pageviews reaching each depth" });
    expect(
      within(bands)
        .getAllByRole("listitem")
        .map((item) => item.textContent),
    ).toEqual([
      "Reached 10%100% of 120 pageviews",
      "Reached 50%62% of 120 pageviews",
      "Reached 100%25% of 120 pageviews",
    ]);
    expect(within(bands).getAllByRole("listitem")[1].getAttribute("title")).toBe("Reached 50%: 62% of 120 pageviews");
    expect((screen.getByRole("button", { name: "Desktop" }) as HTMLElement).getAttribute("aria-pressed")).toBe("true");
  });

  it("keeps a change of device, page or period in the URL, in the same document", async () => {
    window.history.replaceState(null, "", "/orgs/o1/projects/p1/heatmaps");
    serve({ heatmap: { ...heatmap, snapshot: null } });
    const load = vi.spyOn(documentLoad, "assign").mockImplementation(() => {});
    render(inProject(<HeatmapsPage />));
    // Without ?page=, the most clicked page.
    await screen.findByText("Most clicked elements");
    expect((screen.getByLabelText("Page") as HTMLSelectElement).value).toBe("/pricing");

    fireEvent.click(screen.getByRole("button", { name: "Phone" }));
    expect(window.location.search).toBe("?device=phone");
    await waitFor(() => expect(requests.some((r) => new URL(r.url).searchParams.get("device") === "phone")).toBe(true));
    fireEvent.change(screen.getByLabelText("Page"), { target: { value: "/" } });
    expect(window.location.search).toBe("?page=%2F&device=phone");
    fireEvent.change(screen.getByLabelText("Date range"), { target: { value: "7d" } });
    expect(window.location.search).toBe("?page=%2F&device=phone&period=7d");
    await waitFor(() => {
      const last = new URL(requests.at(-1)?.url ?? "");
      expect(Object.fromEntries(last.searchParams)).toEqual({ page: "/", device: "phone", period: "7d" });
    });
    expect(load).not.toHaveBeenCalled();
  });

  it("says there is no snapshot to draw on, and still lists the clicks and the scroll depth", async () => {
    window.history.replaceState(null, "", "/orgs/o1/projects/p1/heatmaps?page=/pricing&device=tablet");
    serve({ heatmap: { ...heatmap, device: "tablet", snapshot: null } });
    render(inProject(<HeatmapsPage />));
    await screen.findByText(noSnapshotText("tablet"));
    expect(noSnapshotText("tablet")).toBe(
      "No recording of this page on tablets yet, so there is no snapshot to draw on. Clicks and scroll depth are below.",
    );
    expect(screen.queryByTestId("heatmap-overlay")).toBeNull();
    expect(FakeReplayer.made).toHaveLength(0);
    expect(screen.getAllByRole("row")).toHaveLength(3);
    expect(screen.getByText("Reached 100%")).toBeTruthy();
  });

  it("says so when the recording's first chunk has no full snapshot", async () => {
    window.history.replaceState(null, "", "/orgs/o1/projects/p1/heatmaps?page=/pricing");
    respondWith((request) => {
      const path = new URL(request.url).pathname;
      if (path.endsWith("/heatmap/pages")) return json(pages);
      if (path.endsWith("/heatmap")) return json(heatmap);
      return new Response(JSON.stringify([chunk0[0], chunk0[2]]));
    });
    render(inProject(<HeatmapsPage />));
    const overlay = await screen.findByTestId("heatmap-overlay");
    await waitFor(() => expect(overlay.dataset.heatmapState).toBe("error"), { timeout: 3_000 });
    expect(screen.getByRole("alert").textContent).toMatch(/no full snapshot/);
  });

  it("explains how to start when no page has data", async () => {
    window.history.replaceState(null, "", "/orgs/o1/projects/p1/heatmaps");
    serve({ pages: [], settings: { enabled: true, heatmaps_enabled: false } });
    render(inProject(<HeatmapsPage />));
    await screen.findByTestId("heatmaps-empty");
    expect(screen.getByText(/Turn them on in the project's/)).toBeTruthy();
    expect(screen.getByRole("link", { name: "Open Settings" }).getAttribute("href")).toBe(
      "/orgs/o1/projects/p1/settings",
    );
    expect(screen.getByText(/js\/replay\.js/).textContent).toBe(
      `<script defer data-domain="shop.example" src="${window.location.origin}/js/replay.js"></script>`,
    );
    expect(requests.some((r) => new URL(r.url).pathname.endsWith("/heatmap"))).toBe(false);
  });
});

describe("ReplaySettings' heatmaps", () => {
  it("turns heatmap collection on", async () => {
    const settings = {
      enabled: false,
      sample_rate: 0.1,
      mask_all_text: true,
      retention_days: 30,
      heatmaps_enabled: false,
    };
    respondWith(async (request) =>
      request.method === "PUT" ? json({ ...settings, ...(await request.clone().json()) }) : json(settings),
    );
    render(<ReplaySettings orgId="o1" projectId="p1" admin />);
    const box = (await screen.findByLabelText(/Collect heatmaps/)) as HTMLInputElement;
    expect(box.checked).toBe(false);
    fireEvent.click(box);
    fireEvent.click(screen.getByRole("button", { name: "Save replay settings" }));
    await screen.findByText(/Saved\./);
    const sent = await requests.find((r) => r.method === "PUT")?.json();
    expect(sent).toMatchObject({ enabled: false, heatmaps_enabled: true });
    expect(box.checked).toBe(true);
  });
});
