import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Schemas } from "../src/api/client";
import { ProjectContext } from "../src/components/ProjectFrame";
import {
  decodeChunk,
  formatClock,
  markerPercent,
  momentUrl,
  percentFromRate,
  type ReplayEvent,
  rateFromPercent,
  readFilters,
  readMoment,
  timelineEnd,
  withoutInlineHandlers,
  writeFilters,
} from "../src/lib/replays";
import { crossesRecordedPage, documentLoad, Router } from "../src/lib/router";
import { IssueReplays } from "../src/pages/errors/IssueReplays";
import { Player } from "../src/pages/replays/Player";
import { ReplayPage } from "../src/pages/replays/ReplayPage";
import { ReplaysPage } from "../src/pages/replays/ReplaysPage";
import { Timeline } from "../src/pages/replays/Timeline";
import { ReplaySettings } from "../src/pages/settings/ReplaySettings";
import { json, requests, respondWith } from "./setup";

/** A stand-in for rrweb's Replayer: records what the player asks of it. */
class FakeReplayer {
  static made: FakeReplayer[] = [];
  wrapper = document.createElement("div");
  iframe = document.createElement("iframe");
  events: ReplayEvent[];
  calls: string[] = [];
  config: Record<string, unknown>;
  time = 0;
  private handlers = new Map<string, (payload?: unknown) => void>();

  constructor(root: HTMLElement, events: ReplayEvent[], options: Record<string, unknown>) {
    this.events = [...events];
    this.config = { ...options };
    root.appendChild(this.wrapper);
    FakeReplayer.made.push(this);
    // Like rrweb: the first full snapshot is drawn just after construction.
    setTimeout(() => this.emit("fullsnapshot-rebuilded"), 1);
  }
  on(name: string, handler: (payload?: unknown) => void) {
    this.handlers.set(name, handler);
    return this;
  }
  emit(name: string, payload?: unknown) {
    this.handlers.get(name)?.(payload);
  }
  pause(at?: number) {
    this.calls.push(at === undefined ? "pause" : `pause(${at})`);
    if (at !== undefined) {
      this.time = at;
      // A seek rebuilds from the snapshot, synchronously.
      if (at > 0) this.emit("fullsnapshot-rebuilded");
    }
  }
  play(at = 0) {
    this.calls.push(`play(${at})`);
    this.time = at;
  }
  addEvent(event: ReplayEvent) {
    this.events.push(event);
  }
  getCurrentTime() {
    return this.time;
  }
  setConfig(config: Record<string, unknown>) {
    Object.assign(this.config, config);
  }
  destroy() {
    this.calls.push("destroy");
  }
}

vi.mock("../src/pages/replays/rrweb", () => ({
  createReplayer: (root: HTMLElement, events: ReplayEvent[], options: Record<string, unknown>) =>
    new FakeReplayer(root, events, options),
}));

/** `text` gzip-compressed, as Beacon stores a chunk. */
async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Response(text).body;
  if (!stream) throw new Error("no body");
  return new Response(stream.pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

const T0 = 1_764_000_000_000;
/** rrweb events: meta and full snapshot first, then one incremental event per offset. */
const chunk0: ReplayEvent[] = [
  { type: 4, timestamp: T0, data: { href: "https://shop.example/", width: 1280, height: 800 } },
  { type: 2, timestamp: T0 + 5, data: { node: {} } },
  { type: 3, timestamp: T0 + 4_000, data: {} },
];
const chunk1: ReplayEvent[] = [
  { type: 3, timestamp: T0 + 9_000, data: {} },
  { type: 3, timestamp: T0 + 20_000, data: {} },
];

const project = {
  id: "p1",
  org_id: "o1",
  name: "Shop",
  domains: ["shop.example"],
} as Schemas["ProjectOut"];

function inProject(children: React.ReactNode, role = "admin") {
  return (
    <Router>
      <ProjectContext.Provider value={{ project, role, reload: () => {} }}>{children}</ProjectContext.Provider>
    </Router>
  );
}

const replay: Schemas["ReplayOut"] = {
  id: "r1",
  started_at: new Date(T0).toISOString(),
  ended_at: new Date(T0 + 20_000).toISOString(),
  duration_ms: 20_000,
  entry_page: "/",
  pages: ["/", "/checkout"],
  country: "DE",
  device: "desktop",
  browser: "Chrome",
  os: "Linux",
  errors: 1,
  clicks: 4,
  rage_clicks: 1,
  dead_clicks: 2,
  chunks: 2,
  bytes: 2048,
  playable: true,
};

beforeEach(() => {
  FakeReplayer.made = [];
  window.history.replaceState(null, "", "/");
  // jsdom has no scrolling; the router scrolls to the top on navigation.
  vi.spyOn(window, "scrollTo").mockImplementation(() => {});
});

describe("replay helpers", () => {
  it("keep the list's filters in the URL, dropping what the API would refuse", () => {
    expect(readFilters(new URLSearchParams(""))).toEqual({});
    expect(writeFilters({})).toBe("");
    const filters = readFilters(
      new URLSearchParams("page=/checkout&has_error=true&device=mobile&country=de&min_duration_s=30&days=7"),
    );
    expect(filters).toEqual({
      page: "/checkout",
      has_error: true,
      device: "mobile",
      country: "DE",
      min_duration_s: 30,
      days: 7,
    });
    expect(readFilters(new URLSearchParams(writeFilters(filters)))).toEqual(filters);
    expect(readFilters(new URLSearchParams("has_error=false"))).toEqual({ has_error: false });
    // A saved segment keeps its period; a period alone (nothing to evaluate over it) does not stay.
    const segment = "0190f2c4-0000-7000-8000-000000000001";
    const bySegment = readFilters(new URLSearchParams(`segment_id=${segment}&period=7d`));
    expect(bySegment).toEqual({ segment_id: segment, period: "7d" });
    expect(writeFilters(bySegment)).toBe(`segment_id=${segment}&period=7d`);
    expect(readFilters(new URLSearchParams("segment_id=not-a-uuid&period=7d"))).toEqual({});
    expect(
      readFilters(new URLSearchParams("has_error=maybe&device=fridge&country=Germany&min_duration_s=-3&days=x")),
    ).toEqual({});
  });

  it("format player times and place markers on the timeline", () => {
    expect(formatClock(0)).toBe("0:00");
    expect(formatClock(65_400)).toBe("1:05");
    expect(formatClock(3_723_000)).toBe("1:02:03");
    expect(formatClock(-5)).toBe("0:00");
    expect(markerPercent(5_000, 20_000)).toBe(25);
    expect(markerPercent(30_000, 20_000)).toBe(100);
    expect(markerPercent(-1, 20_000)).toBe(0);
    expect(markerPercent(10, 0)).toBe(0);
  });

  it("read the moment a link opens at and make one", () => {
    expect(readMoment(new URLSearchParams("t=4500"))).toBe(4500);
    expect(readMoment(new URLSearchParams("t=-1"))).toBeNull();
    expect(readMoment(new URLSearchParams(""))).toBeNull();
    expect(momentUrl("https://beacon.example", "/orgs/o/projects/p/replays/r", 1234.6)).toBe(
      "https://beacon.example/orgs/o/projects/p/replays/r?t=1235",
    );
  });

  it("map the sample rate to the percent the settings show", () => {
    expect(percentFromRate(0.07)).toBe("7");
    expect(percentFromRate(0.125)).toBe("12.5");
    expect(rateFromPercent("7")).toBe(0.07);
    expect(rateFromPercent("12,5")).toBe(0.125);
    expect(rateFromPercent("100")).toBe(1);
    expect(rateFromPercent("101")).toBeNull();
    expect(rateFromPercent("-1")).toBeNull();
    expect(rateFromPercent("")).toBeNull();
  });

  it("keep a recording's inline event handlers inert", () => {
    const snapshot = {
      type: 2,
      timestamp: T0,
      data: {
        node: {
          type: 0,
          childNodes: [
            { type: 2, tagName: "form", attributes: { onsubmit: "return false", action: "/buy" }, childNodes: [] },
          ],
        },
      },
    };
    const form = withoutInlineHandlers(snapshot).data as { node: { childNodes: { attributes: object }[] } };
    expect(form.node.childNodes[0].attributes).toEqual({ _onsubmit: "return false", action: "/buy" });
    const mutation = {
      type: 3,
      timestamp: T0,
      data: {
        source: 0,
        adds: [{ parentId: 1, node: { type: 2, tagName: "img", attributes: { onerror: "x()", src: "a.png" } } }],
        attributes: [{ id: 4, attributes: { onclick: "y()", class: "b" } }],
      },
    };
    expect(withoutInlineHandlers(mutation).data).toMatchObject({
      adds: [{ node: { attributes: { _onerror: "x()", src: "a.png" } } }],
      attributes: [{ attributes: { _onclick: "y()", class: "b" } }],
    });
  });

  it("end the timeline at the recording's end, or at a marker after it", () => {
    expect(timelineEnd(20_000, [])).toBe(20_000);
    expect(timelineEnd(20_000, [{ offset_ms: 21_500, kind: "error", label: "boom" }])).toBe(21_500);
  });

  it("decode a stored chunk, gzip or plain", async () => {
    const body = await gzip(JSON.stringify(chunk0));
    expect(new Uint8Array(body).slice(0, 2)).toEqual(new Uint8Array([0x1f, 0x8b]));
    expect(await decodeChunk(body)).toEqual(chunk0);
    expect(await decodeChunk(new TextEncoder().encode(JSON.stringify(chunk1)).buffer as ArrayBuffer)).toEqual(chunk1);
    await expect(decodeChunk(new TextEncoder().encode('{"a":1}').buffer as ArrayBuffer)).rejects.toThrow();
  });
});

describe("Timeline", () => {
  it("draws each marker where it happened, named, and seeks to it", () => {
    const onSeek = vi.fn();
    const { container } = render(
      <Timeline
        durationMs={20_000}
        currentMs={5_000}
        onSeek={onSeek}
        markers={[
          { offset_ms: 0, kind: "page", label: "/" },
          { offset_ms: 5_000, kind: "click", label: "button#buy" },
          { offset_ms: 15_000, kind: "error", label: "TypeError: boom", issue_id: "i1" },
        ]}
      />,
    );
    const markers = [...container.querySelectorAll<HTMLButtonElement>(".replay-marker")];
    expect(markers.map((m) => m.style.left)).toEqual(["0%", "25%", "75%"]);
    expect(markers.map((m) => m.className)).toEqual([
      "replay-marker marker-page",
      "replay-marker marker-click",
      "replay-marker marker-error",
    ]);
    expect(markers[2].title).toBe("Error: TypeError: boom at 0:15");
    fireEvent.click(markers[2]);
    expect(onSeek).toHaveBeenCalledWith(15_000);
    const range = screen.getByRole("slider", { name: "Position in the recording" });
    expect(range.getAttribute("aria-valuetext")).toBe("0:05 of 0:20");
    fireEvent.change(range, { target: { value: "8000" } });
    expect(onSeek).toHaveBeenLastCalledWith(8_000);
  });
});

describe("Player", () => {
  const playerProps = (loadChunk: (seq: number) => Promise<ReplayEvent[]>, startAt: number | null) => ({
    chunks: [0, 1],
    durationMs: 20_000,
    markers: [{ offset_ms: 9_000, kind: "error", label: "TypeError: boom", issue_id: "i1" }],
    startAt,
    loadChunk,
    issuePath: (id: string) => `/orgs/o1/projects/p1/errors/${id}`,
  });

  it("starts on chunk 0, then adds the next chunks to the running player", async () => {
    let release: () => void = () => {};
    const second = new Promise<void>((resolve) => {
      release = resolve;
    });
    const loadChunk = vi.fn(async (seq: number) => {
      if (seq === 1) await second;
      return seq === 0 ? chunk0 : chunk1;
    });
    render(<Router>{<Player {...playerProps(loadChunk, null)} />}</Router>);
    const stage = screen.getByTestId("replay-player");
    expect(stage.dataset.replayState).toBe("loading");
    // The first frame while chunk 1 is still on its way.
    await waitFor(() => expect(stage.dataset.replayState).toBe("ready"));
    const replayer = FakeReplayer.made[0];
    expect(replayer.events).toEqual(chunk0);
    expect(replayer.config).toMatchObject({ speed: 1, skipInactive: true });
    expect(replayer.calls).toEqual(["pause(0)"]);
    expect(loadChunk.mock.calls.map(([seq]) => seq)).toEqual([0, 1]);
    expect(stage.dataset.currentMs).toBe("0");
    await act(async () => release());
    await waitFor(() => expect(replayer.events).toHaveLength(chunk0.length + chunk1.length));

    // Controls reach the player; seeking updates the position the tests read.
    fireEvent.click(screen.getByRole("button", { name: "4×" }));
    expect(replayer.config.speed).toBe(4);
    fireEvent.click(screen.getByLabelText("Skip inactivity"));
    expect(replayer.config.skipInactive).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Go to Error: TypeError: boom at 0:09" }));
    expect(replayer.calls.at(-1)).toBe("pause(9000)");
    expect(stage.dataset.currentMs).toBe("9000");
    fireEvent.click(screen.getByRole("button", { name: "Play" }));
    expect(replayer.calls.at(-1)).toBe("play(9000)");
    fireEvent.click(screen.getByRole("button", { name: "Pause" }));
    expect(replayer.calls.at(-1)).toBe("pause");
    expect(screen.getByRole("link", { name: "Open issue" }).getAttribute("href")).toBe(
      "/orgs/o1/projects/p1/errors/i1",
    );
  });

  it("opens at ?t= once the events up to it are in", async () => {
    const loadChunk = vi.fn(async (seq: number) => (seq === 0 ? chunk0 : chunk1));
    render(<Router>{<Player {...playerProps(loadChunk, 12_000)} />}</Router>);
    const stage = screen.getByTestId("replay-player");
    await waitFor(() => expect(stage.dataset.replayState).toBe("ready"));
    const replayer = FakeReplayer.made[0];
    // Chunk 0 ends at 4 s: the player waited for chunk 1 before seeking.
    expect(replayer.events).toHaveLength(chunk0.length + chunk1.length);
    expect(replayer.calls).toEqual(["pause(0)", "pause(12000)"]);
    expect(stage.dataset.currentMs).toBe("12000");
    expect(screen.getByTestId("replay-time").textContent).toBe("0:12");
  });

  it("opens at an error reported after the recorder's last event", async () => {
    const loadChunk = vi.fn(async (seq: number) => (seq === 0 ? chunk0 : chunk1));
    const props = playerProps(loadChunk, 21_000);
    props.markers = [{ offset_ms: 21_000, kind: "error", label: "TypeError: boom", issue_id: "i1" }];
    render(<Router>{<Player {...props} />}</Router>);
    const stage = screen.getByTestId("replay-player");
    await waitFor(() => expect(stage.dataset.replayState).toBe("ready"));
    expect(FakeReplayer.made[0].calls.at(-1)).toBe("pause(21000)");
    expect(stage.dataset.currentMs).toBe("21000");
    expect(screen.getByRole("slider").getAttribute("max")).toBe("21000");
  });

  it("keeps what it loaded playable when a later chunk fails", async () => {
    const loadChunk = vi.fn(async (seq: number) => {
      if (seq === 1) throw new Error("Beacon could not be reached.");
      return chunk0;
    });
    render(<Router>{<Player {...playerProps(loadChunk, null)} />}</Router>);
    expect((await screen.findByRole("alert")).textContent).toBe("Beacon could not be reached.");
    // The first frame is drawn on its own schedule (a slow machine may tell the failure first).
    const stage = screen.getByTestId("replay-player");
    await waitFor(() => expect(stage.dataset.replayState).toBe("ready"));
    expect((screen.getByRole("button", { name: "Play" }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("says so when no chunk holds a full snapshot", async () => {
    const loadChunk = vi.fn(async () => [chunk0[0], chunk0[2]]);
    render(<Router>{<Player {...playerProps(loadChunk, null)} />}</Router>);
    await screen.findByText("This recording has no full snapshot yet, so it cannot be played.");
    expect(screen.getByTestId("replay-player").dataset.replayState).toBe("error");
    expect(FakeReplayer.made).toHaveLength(0);
  });
});

describe("ReplayPage", () => {
  it("fetches the recording, then its gzip chunks in order, and deletes it after confirming", async () => {
    window.history.replaceState(null, "", "/orgs/o1/projects/p1/replays/r1");
    const bodies = [await gzip(JSON.stringify(chunk0)), await gzip(JSON.stringify(chunk1))];
    respondWith((request) => {
      const path = new URL(request.url).pathname;
      if (request.method === "DELETE") return new Response(null, { status: 204 });
      if (path.endsWith("/replays/r1"))
        return json({
          replay,
          chunks: [
            { seq: 0, started_at: replay.started_at, ended_at: replay.started_at, events: 3 },
            { seq: 1, started_at: replay.started_at, ended_at: replay.ended_at, events: 2 },
          ],
          markers: [{ offset_ms: 0, kind: "page", label: "/" }],
        });
      const seq = Number(path.split("/").pop());
      return new Response(bodies[seq], {
        headers: { "content-type": "application/octet-stream" },
      });
    });
    render(inProject(<ReplayPage replayId="r1" />));
    const stage = await screen.findByTestId("replay-player");
    await waitFor(() => expect(stage.dataset.replayState).toBe("ready"));
    await waitFor(() => expect(FakeReplayer.made[0].events).toHaveLength(5));
    expect(requests.map((r) => new URL(r.url).pathname)).toEqual([
      "/api/v1/orgs/o1/projects/p1/replays/r1",
      "/api/v1/orgs/o1/projects/p1/replays/r1/chunks/0",
      "/api/v1/orgs/o1/projects/p1/replays/r1/chunks/1",
    ]);
    expect(screen.getByText("/checkout")).toBeTruthy();
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(true);
    const load = vi.spyOn(documentLoad, "assign").mockImplementation(() => {});
    fireEvent.click(screen.getByRole("button", { name: "Delete recording" }));
    // Leaving the player's page is a full page load.
    await waitFor(() => expect(load).toHaveBeenCalledWith("/orgs/o1/projects/p1/replays"));
    expect(confirm).toHaveBeenCalled();
    expect(requests.at(-1)?.method).toBe("DELETE");
    confirm.mockRestore();
    load.mockRestore();
  });

  it("says why a recording without its first frame cannot be played, and hides deletion from members", async () => {
    respondWith(() => json({ replay: { ...replay, playable: false }, chunks: [], markers: [] }));
    render(inProject(<ReplayPage replayId="r1" />, "member"));
    await screen.findByText("This recording has no full snapshot yet, so it cannot be played.");
    expect(screen.queryByRole("button", { name: "Delete recording" })).toBeNull();
  });
});

describe("ReplaysPage", () => {
  it("lists recordings with the URL's filters, applies new ones to the URL and loads older ones", async () => {
    window.history.replaceState(null, "", "/orgs/o1/projects/p1/replays?has_error=true&device=mobile");
    const segmentId = "0190f2c4-0000-7000-8000-000000000001";
    respondWith((request) => {
      const url = new URL(request.url);
      if (url.pathname.endsWith("/segments")) {
        return json([
          { id: segmentId, name: "Mobile buyers", filters: [], editable: true, created_at: replay.started_at },
        ]);
      }
      return url.searchParams.get("cursor")
        ? json({ items: [{ ...replay, id: "r2", errors: 0 }], next_cursor: null })
        : json({ items: [replay], next_cursor: "c1" });
    });
    const lists = () => requests.filter((request) => new URL(request.url).pathname.endsWith("/replays"));
    const { container } = render(inProject(<ReplaysPage />));
    await waitFor(() => expect(container.querySelector('tr[data-replay-id="r1"]')).toBeTruthy());
    const sent = new URL(lists()[0].url).searchParams;
    expect(Object.fromEntries(sent)).toEqual({ has_error: "true", device: "mobile", limit: "50" });
    const row = container.querySelector('tr[data-replay-id="r1"]') as HTMLElement;
    expect(row.querySelector("a")?.getAttribute("href")).toBe("/orgs/o1/projects/p1/replays/r1");
    expect(row.querySelector(".badge-bad")?.textContent).toBe("1");
    expect(row.textContent).toContain("2 pages");

    fireEvent.click(screen.getByRole("button", { name: "Load older" }));
    await waitFor(() => expect(container.querySelector('tr[data-replay-id="r2"]')).toBeTruthy());
    expect(new URL(lists()[1].url).searchParams.get("cursor")).toBe("c1");

    fireEvent.change(screen.getByLabelText("Country"), { target: { value: "de" } });
    fireEvent.change(screen.getByLabelText("Errors"), { target: { value: "" } });
    fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    await waitFor(() => expect(window.location.search).toBe("?device=mobile&country=DE"));
    await waitFor(() => expect(new URL(lists().at(-1)?.url ?? "").searchParams.get("country")).toBe("DE"));

    // A saved segment: offered by name, kept in the URL, sent to the API, and said above the list.
    await screen.findByRole("option", { name: "Mobile buyers" });
    fireEvent.change(screen.getByLabelText("Segment"), { target: { value: segmentId } });
    fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    await waitFor(() => expect(window.location.search).toBe(`?device=mobile&country=DE&segment_id=${segmentId}`));
    await waitFor(() => expect(new URL(lists().at(-1)?.url ?? "").searchParams.get("segment_id")).toBe(segmentId));
    expect((await screen.findByTestId("segment-filter")).textContent).toContain("Mobile buyers");
  });

  it("explains how to start before the first recording", async () => {
    window.history.replaceState(null, "", "/orgs/o1/projects/p1/replays");
    respondWith((request) => {
      const path = new URL(request.url).pathname;
      if (path.endsWith("/segments")) return json([]);
      return path.endsWith("/replay-settings")
        ? json({ enabled: false, sample_rate: 0.1, mask_all_text: true, retention_days: 30 })
        : json({ items: [], next_cursor: null });
    });
    render(inProject(<ReplaysPage />));
    await screen.findByText(/Turn it on in the project's/);
    expect(screen.getByText(/js\/replay\.js/).textContent).toBe(
      `<script defer data-domain="shop.example" src="${window.location.origin}/js/replay.js"></script>`,
    );
    expect(screen.getByRole("link", { name: "Open Settings" }).getAttribute("href")).toBe(
      "/orgs/o1/projects/p1/settings",
    );
  });
});

describe("IssueReplays", () => {
  it("links each recording at the moment of the error", async () => {
    respondWith(() =>
      json([
        {
          replay_id: "r1",
          started_at: replay.started_at,
          event_id: "e1",
          error_at: replay.started_at,
          offset_ms: 65_000,
        },
      ]),
    );
    render(
      <Router>
        <IssueReplays orgId="o1" projectId="p1" issueId="i1" />
      </Router>,
    );
    const link = await screen.findByRole("link", { name: /Recording from/ });
    expect(link.getAttribute("href")).toBe("/orgs/o1/projects/p1/replays/r1?t=65000");
    expect(screen.getByText("error at 1:05")).toBeTruthy();
  });

  it("says why there is none", async () => {
    respondWith(() => json([]));
    render(
      <Router>
        <IssueReplays orgId="o1" projectId="p1" issueId="i1" />
      </Router>,
    );
    await screen.findByText("No recording contains this error. Session replay is off or this visitor was not sampled.");
  });
});

describe("ReplaySettings", () => {
  const settings = {
    enabled: false,
    sample_rate: 0.1,
    mask_all_text: true,
    unmask_selector: "h1",
    block_selector: null,
    retention_days: 30,
    heatmaps_enabled: false,
  };

  it("sends the percent as a rate and clears an emptied selector", async () => {
    respondWith(async (request) =>
      request.method === "PUT" ? json({ ...settings, ...(await request.clone().json()) }) : json(settings),
    );
    render(<ReplaySettings orgId="o1" projectId="p1" admin />);
    const share = await screen.findByLabelText("Share of visitors recorded (%)");
    expect((share as HTMLInputElement).value).toBe("10");
    fireEvent.click(screen.getByLabelText("Record visitors' sessions"));
    fireEvent.change(share, { target: { value: "25" } });
    fireEvent.change(screen.getByLabelText("Unmask selector"), { target: { value: "" } });
    fireEvent.change(screen.getByLabelText("Keep recordings for (days)"), { target: { value: "60" } });
    fireEvent.click(screen.getByRole("button", { name: "Save replay settings" }));
    await screen.findByText(/Saved\./);
    const sent = await requests.find((r) => r.method === "PUT")?.json();
    expect(sent).toEqual({
      enabled: true,
      sample_rate: 0.25,
      mask_all_text: true,
      unmask_selector: "",
      block_selector: "",
      retention_days: 60,
      heatmaps_enabled: false,
    });
  });

  it("shows the server's words when it refuses, and is read-only for members", async () => {
    respondWith((request) =>
      request.method === "PUT"
        ? json(
            { type: "https://beacon.dev/problems/invalid", title: "Invalid", detail: "retention_days: 1 to 365" },
            422,
            "application/problem+json",
          )
        : json(settings),
    );
    const { unmount } = render(<ReplaySettings orgId="o1" projectId="p1" admin />);
    fireEvent.click(await screen.findByRole("button", { name: "Save replay settings" }));
    expect((await screen.findByRole("alert")).textContent).toBe("retention_days: 1 to 365");
    unmount();
    render(<ReplaySettings orgId="o1" projectId="p1" admin={false} />);
    // Inside a disabled fieldset.
    expect((await screen.findByLabelText("Mask all text", { exact: false })).matches(":disabled")).toBe(true);
    expect(screen.queryByRole("button", { name: "Save replay settings" })).toBeNull();
    expect(screen.getByText("Only admins change the replay settings.")).toBeTruthy();
  });
});

describe("crossesRecordedPage", () => {
  const player = "/orgs/o/projects/p/replays/r1";
  const heatmaps = "/orgs/o/projects/p/heatmaps";
  it("loads the player's page, and leaves it, as documents of their own", () => {
    expect(crossesRecordedPage("/orgs/o/projects/p/replays", player)).toBe(true);
    expect(crossesRecordedPage(player, "/orgs/o/projects/p/errors/i")).toBe(true);
    expect(crossesRecordedPage(player, "/orgs/o/projects/p/replays/r2?t=5")).toBe(true);
  });
  it("loads the heatmaps the same way, and goes between them and the player by full loads", () => {
    expect(crossesRecordedPage("/orgs/o/projects/p/replays", heatmaps)).toBe(true);
    expect(crossesRecordedPage("/orgs/o/projects/p", `${heatmaps}?page=/pricing`)).toBe(true);
    expect(crossesRecordedPage(heatmaps, "/orgs/o/projects/p/settings")).toBe(true);
    expect(crossesRecordedPage(heatmaps, player)).toBe(true);
    expect(crossesRecordedPage(player, `${heatmaps}?device=phone`)).toBe(true);
    expect(crossesRecordedPage(heatmaps, "/orgs/o/projects/q/heatmaps")).toBe(true);
  });
  it("keeps everything else in the page, the player's own ?t= and the heatmaps' own query included", () => {
    expect(crossesRecordedPage(player, `${player}?t=1200`)).toBe(false);
    expect(crossesRecordedPage(heatmaps, `${heatmaps}?page=/pricing&device=phone&period=7d`)).toBe(false);
    expect(crossesRecordedPage("/orgs/o/projects/p", "/orgs/o/projects/p/replays")).toBe(false);
    expect(crossesRecordedPage("/orgs/o/projects/p/replays", "/orgs/o/projects/p/replays?has_error=true")).toBe(false);
    expect(crossesRecordedPage("/orgs/o/projects/p/heatmaps/x", "/orgs/o/projects/p")).toBe(false);
  });
});

describe("a funnel's drop-offs in the URL", () => {
  const funnel = "0b3eb580-dec5-4aee-8367-a8c137ba94c8";
  it("keeps the funnel, the step and the period together", () => {
    const filters = readFilters(new URLSearchParams(`funnel_id=${funnel}&dropped_at=3&period=7d&device=mobile`));
    expect(filters).toEqual({ funnel_id: funnel, dropped_at: 3, period: "7d", device: "mobile" });
    expect(readFilters(new URLSearchParams(writeFilters(filters)))).toEqual(filters);
  });
  it("drops a step without a funnel, the first step, or a funnel id that is not one", () => {
    expect(readFilters(new URLSearchParams("dropped_at=3"))).toEqual({});
    expect(readFilters(new URLSearchParams(`funnel_id=${funnel}&dropped_at=1`))).toEqual({});
    expect(readFilters(new URLSearchParams("funnel_id=nope&dropped_at=2"))).toEqual({});
  });
});
