// Beacon's optional session replay loader: load it beside the tracker, with the same
// data-domain, and Beacon records sessions when the project turned replay on:
//
//   <script defer data-domain="example.com" src="https://beacon.example.net/js/replay.js"></script>
//
// This file stays tiny: it asks Beacon for the project's replay settings and, only for a
// sampled share of page loads, loads the recorder (replay-recorder.js, rrweb, ~25 KB), which
// reads what this file found from `window.__beaconReplay`. When the settings turn heatmaps on,
// this file itself collects every pageview's clicks (an element's selector path and the
// position inside it) and deepest scroll, for every visitor, and sends one report per pageview
// to `POST /api/heatmap`. Nothing happens on localhost, with `beacon_ignore` in localStorage,
// or when the browser sends Do-Not-Track or Global Privacy Control. Nothing is stored in the
// browser. Any failure leaves the page alone.

// A module (for TypeScript: its names stay apart from script.ts's), bundled as an IIFE.
export {};

/** What the loader hands the recorder. */
interface Handoff {
  origin: string;
  domain: string;
  config: { enabled?: boolean; sample_rate?: number; heatmaps?: boolean };
}

/** A click as reported: [selector, x, y, rage], x and y the position inside the element (0 to 1). */
type Click = [string, number, number, number];

const win = window as unknown as { __beaconReplay?: Handoff; __beaconHeatmaps?: boolean; doNotTrack?: string };
const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
const script = document.currentScript as HTMLScriptElement | null;
// The first project of a comma list: a session is recorded for one project.
const domain = (script?.getAttribute("data-domain") || location.hostname).split(",")[0].trim();

/** Localhost, the tracker's opt-out, Do-Not-Track or Global Privacy Control. */
function ignored(): boolean {
  if (/^localhost$|^127(\.\d+){3}$|^\[::1\]$/.test(location.hostname) || location.protocol === "file:") return true;
  if (nav.doNotTrack === "1" || win.doNotTrack === "1" || nav.globalPrivacyControl === true) return true;
  try {
    return localStorage.getItem("beacon_ignore") === "true";
  } catch {
    return false;
  }
}

/** `value` clamped to [0, 1] (NaN: 0) and rounded to 2 decimals. */
const unit = (value: number): number => Math.round((value > 0 ? Math.min(value, 1) : 0) * 100) / 100;

/**
 * The element's selector path: from it up through at most 6 elements, each its lower-case
 * tag name with `:nth-of-type(n)` when its parent has more than one child of that tag; an
 * element with a simple id is `#id` and ends the path, as does `body`. Outermost first,
 * joined by `>`: `body>main>div:nth-of-type(2)>p`, `#buy`, `#nav>a:nth-of-type(3)`.
 */
function selector(element: Element | null): string {
  const path: string[] = [];
  for (let depth = 0; element && depth < 6 && path[0] !== "body"; depth++) {
    const id = element.id;
    if (/^[A-Za-z][\w-]*$/.test(id)) {
      path.unshift(`#${id}`);
      break;
    }
    const tag = element.tagName;
    const parent: Element | null = element.parentElement;
    const same = parent ? Array.from(parent.children).filter((child) => child.tagName === tag) : [];
    path.unshift(tag.toLowerCase() + (same[1] ? `:nth-of-type(${same.indexOf(element) + 1})` : ""));
    element = parent;
  }
  return path.join(">");
}

/** Collects the heatmap: each pageview's clicks and deepest scroll, sent once it ends. */
function heatmaps(origin: string): void {
  win.__beaconHeatmaps = true;
  let page = location.pathname;
  /** The clicks not sent yet. */
  let clicks: Click[] = [];
  /** The pageview's clicks as [selector, time]: at most 200, and rage clicks are found here. */
  let recent: [string, number][] = [];
  /** The pageview's deepest scroll, and that of the last report. */
  let deepest = 0;
  let sent = 0;
  /** Whether this pageview was reported already (then a report says the depth it told). */
  let told = false;

  const measure = () => {
    deepest = Math.max(deepest, unit((scrollY + innerHeight) / document.documentElement.scrollHeight));
  };

  /** Reports what is new since the last report: clicks, or a deeper scroll. */
  const send = () => {
    measure();
    if (clicks[0] || deepest > sent) {
      const url = `${origin}/api/heatmap`;
      const body = JSON.stringify({
        d: domain,
        p: page,
        w: innerWidth < 768 ? "phone" : innerWidth < 1024 ? "tablet" : "desktop",
        c: clicks,
        s: deepest,
        // A follow-up: the pageview is counted once, each depth band once.
        r: told ? sent : undefined,
      });
      clicks = [];
      sent = deepest;
      told = true;
      try {
        fetch(url, { method: "POST", body, credentials: "omit", keepalive: true })
          .catch(() => nav.sendBeacon(url, body))
          .catch(() => {});
      } catch {
        // A page's broken fetch wrapper: this report is lost.
      }
    }
  };

  /** A single-page app's navigation: the previous page's report, then a new pageview. */
  const navigated = () => {
    if (location.pathname !== page) {
      send();
      page = location.pathname;
      clicks = [];
      recent = [];
      deepest = sent = 0;
      told = false;
    }
  };

  addEventListener(
    "click",
    (event) => {
      const target = event.target;
      try {
        if (event.isTrusted && target instanceof Element && !recent[199]) {
          const key = selector(target);
          const box = target.getBoundingClientRect();
          const now = event.timeStamp;
          if (!key[300]) {
            recent.push([key, now]);
            clicks.push([
              key,
              unit((event.clientX - box.left) / box.width),
              unit((event.clientY - box.top) / box.height),
              recent.filter(([other, at]) => other === key && now - at < 1000)[2] ? 1 : 0,
            ]);
          }
        }
      } catch {
        // A clobbered DOM property (a form's `<input name="tagName">`): not this click.
      }
    },
    true,
  );
  addEventListener("scroll", measure, { passive: true });
  document.addEventListener("visibilitychange", () => document.hidden && send());
  addEventListener("pagehide", send);
  for (const name of ["pushState", "replaceState"] as const) {
    const original = history[name];
    history[name] = function (this: History, ...args: Parameters<History["pushState"]>) {
      original.apply(this, args);
      navigated();
    };
  }
  addEventListener("popstate", navigated);
  measure();
}

if (script && !win.__beaconReplay && !ignored()) {
  try {
    const origin = (script.getAttribute("data-api") || new URL(script.src).origin).replace(/\/+$/, "");
    fetch(`${origin}/api/replay/config?d=${encodeURIComponent(domain)}`, { credentials: "omit" })
      .then((response) => (response.ok ? response.json() : null))
      .then((config: Handoff["config"] | null) => {
        if (!config) return;
        if (config.heatmaps && !win.__beaconHeatmaps) heatmaps(origin);
        // An absent sample_rate compares false: no replay.
        if (config.enabled && Math.random() < (config.sample_rate as number) && !win.__beaconReplay) {
          win.__beaconReplay = { origin, domain, config };
          const recorder = document.createElement("script");
          recorder.src = `${origin}/js/replay-recorder.js`;
          (document.head || document.documentElement).appendChild(recorder);
        }
      })
      .catch(() => {});
  } catch {
    // A malformed data-api or script URL: no replay.
  }
}
