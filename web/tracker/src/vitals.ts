// Beacon's optional Core Web Vitals extension: load it beside the tracker, with the same
// data-domain, to collect LCP, INP, CLS, FCP and TTFB with Google's web-vitals library:
//
//   <script defer data-domain="example.com" src="https://beacon.example.net/js/vitals.js"></script>
//
// Each metric is reported once it is final (web-vitals decides when: most when the page is
// hidden), with the scalar fields of its attribution; the batch goes out when the page is
// hidden or left. Like the tracker: no cookies, nothing from localhost, and `beacon_ignore`
// in localStorage turns it off.
import { type MetricWithAttribution, onCLS, onFCP, onINP, onLCP, onTTFB } from "web-vitals/attribution";

interface Sample {
  n: string;
  v: number;
  r: string;
  t: string;
  a: Record<string, string | number>;
}

const script = document.currentScript as HTMLScriptElement | null;
const domain = script?.getAttribute("data-domain") || location.hostname;
const endpoint = script?.getAttribute("data-api") || `${script ? new URL(script.src).origin : ""}/api/vitals`;

function ignored(): boolean {
  if (/^localhost$|^127(\.\d+){3}$|^\[::1\]$/.test(location.hostname) || location.protocol === "file:") return true;
  try {
    return localStorage.getItem("beacon_ignore") === "true";
  } catch {
    return false;
  }
}

/** The attribution's strings and numbers (its entries are DOM objects and stay behind). */
function scalars(attribution: object | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(attribution ?? {})) {
    if (typeof value === "string") out[key] = value.slice(0, 200);
    else if (typeof value === "number" && Number.isFinite(value)) out[key] = Math.round(value * 1000) / 1000;
  }
  return out;
}

const pending = new Map<string, Sample>();

function record(metric: MetricWithAttribution): void {
  pending.set(metric.id, {
    n: metric.name,
    v: metric.value,
    r: metric.rating,
    t: metric.navigationType,
    a: scalars(metric.attribution),
  });
}

function flush(): void {
  if (!pending.size) return;
  const body = JSON.stringify({ d: domain, u: location.href, m: [...pending.values()] });
  pending.clear();
  try {
    fetch(endpoint, {
      method: "POST",
      body,
      keepalive: true,
      credentials: "omit",
      headers: { "Content-Type": "text/plain" },
    }).catch(() => {});
  } catch {
    navigator.sendBeacon?.(endpoint, body);
  }
}

if (!ignored()) {
  onCLS(record);
  onINP(record);
  onLCP(record);
  onFCP(record);
  onTTFB(record);
  // After web-vitals' own listeners have reported CLS and INP for the hidden page.
  addEventListener("visibilitychange", () => document.visibilityState === "hidden" && setTimeout(flush), true);
  addEventListener("pagehide", flush, true);
}
