// Beacon's optional session replay loader: load it beside the tracker, with the same
// data-domain, and Beacon records sessions when the project turned replay on:
//
//   <script defer data-domain="example.com" src="https://beacon.example.net/js/replay.js"></script>
//
// This file stays tiny: it asks Beacon for the project's replay settings and, only for a
// sampled share of page loads, loads the recorder (replay-recorder.js, rrweb, ~25 KB), which
// reads what this file found from `window.__beaconReplay`. Nothing happens on localhost, with
// `beacon_ignore` in localStorage, or when the browser sends Do-Not-Track or Global Privacy
// Control. Any failure leaves the page alone.

// A module (for TypeScript: its names stay apart from script.ts's), bundled as an IIFE.
export {};

/** What the loader hands the recorder. */
interface Handoff {
  origin: string;
  domain: string;
  config: { enabled?: boolean; sample_rate?: number };
}

const win = window as unknown as { __beaconReplay?: Handoff; doNotTrack?: string };
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

if (script && !win.__beaconReplay && !ignored()) {
  try {
    const origin = (script.getAttribute("data-api") || new URL(script.src).origin).replace(/\/+$/, "");
    fetch(`${origin}/api/replay/config?d=${encodeURIComponent(domain)}`, { credentials: "omit" })
      .then((response) => (response.ok ? response.json() : null))
      .then((config: Handoff["config"] | null) => {
        if (!config?.enabled || !(Math.random() < (config.sample_rate ?? 0)) || win.__beaconReplay) return;
        win.__beaconReplay = { origin, domain, config };
        const recorder = document.createElement("script");
        recorder.src = `${origin}/js/replay-recorder.js`;
        (document.head || document.documentElement).appendChild(recorder);
      })
      .catch(() => {});
  } catch {
    // A malformed data-api or script URL: no replay.
  }
}
