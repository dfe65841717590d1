// Google's web-vitals, through Beacon's /js/vitals.js extension, in Debian's headless Chromium
// (playwright-core), on a page of another origin. Called by the Rust test `vitals::…` with
// Beacon's port and the site's domain; prints the statuses of the vitals requests as JSON.
//
// LCP is final at the first trusted input, INP needs an interaction, and CLS and INP are
// reported when the page is hidden: the script clicks (a slow handler, so INP is measurable),
// lets the layout shift, then hides the page the way a tab switch does.

import http from "node:http";
import { chromium } from "playwright-core";

const [beaconPort, domain] = process.argv.slice(2);
if (!beaconPort || !domain) {
  console.error("usage: node vitals.mjs <beacon port> <domain>");
  process.exit(2);
}
const page = `<!doctype html><html><head><meta charset="utf-8"><title>Article</title>
<script defer data-domain="${domain}" src="http://beacon.test:${beaconPort}/js/vitals.js"></script>
<script>
// Resolves once the browser has recorded a performance entry of \`type\` that \`matches\`;
// fails after 10 s.
window.recorded = (type, matches) =>
  new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error("no " + type + " entry within 10 s")), 10000);
    new PerformanceObserver((list, observer) => {
      if (list.getEntries().some(matches)) {
        observer.disconnect();
        resolve();
      }
    }).observe({ type, buffered: true, ...(type === "event" ? { durationThreshold: 16 } : {}) });
  });
</script></head>
<body><h1 style="font-size:48px">A long article title that is the largest paint</h1>
<p id="text">Some text.</p><button id="more">More</button>
<script>
document.getElementById("more").addEventListener("click", () => {
  const until = performance.now() + 250;
  while (performance.now() < until) {}
  document.getElementById("text").textContent = "More text.";
  // Well after the click (shifts within 500 ms of input do not count), whatever the load.
  setTimeout(() => {
    const banner = document.createElement("div");
    banner.style.height = "200px";
    banner.textContent = "A late banner that shifts the layout";
    document.body.insertBefore(banner, document.body.firstChild);
  }, 1000);
});
</script></body></html>`;
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(page);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP vitals.example 127.0.0.1, MAP beacon.test 127.0.0.1"],
});
const report = { statuses: [] };
const pageErrors = [];
try {
  const context = await browser.newContext({
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
  });
  const tab = await context.newPage();
  tab.on("response", (r) => r.url().endsWith("/api/vitals") && report.statuses.push(r.status()));
  tab.on("pageerror", (error) => pageErrors.push(error.message));
  await tab.goto(`http://vitals.example:${server.address().port}/article`, { waitUntil: "load" });
  // The browser's own record of each measurement, before the step that depends on it: the
  // largest paint before the click (which finalizes LCP), then the click's event timing (INP)
  // and the banner's layout shift (CLS) before the page is hidden.
  await tab.evaluate(() => window.recorded("largest-contentful-paint", () => true));
  await tab.click("#more");
  await tab.evaluate(() => window.recorded("event", (entry) => entry.name === "click"));
  // web-vitals handles event entries in the next idle period (whenIdleOrHidden): let it, as a
  // reader's browser would before they switch tabs, so INP is measured rather than raced.
  await tab.evaluate(() => new Promise((resolve) => requestIdleCallback(() => resolve(), { timeout: 2000 })));
  await tab.evaluate(() => window.recorded("layout-shift", (entry) => !entry.hadRecentInput && entry.value > 0));
  const sent = tab.waitForResponse((r) => r.url().endsWith("/api/vitals"), { timeout: 10_000 });
  await tab.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  report.body = JSON.parse((await sent).request().postData() ?? "{}");
  await context.close();
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(report));
if (pageErrors.length) {
  console.error(`uncaught errors on the page:\n${pageErrors.join("\n")}`);
  process.exit(1);
}
