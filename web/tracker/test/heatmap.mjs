// Heatmaps through Beacon's /js/replay.js in Debian's headless Chromium (playwright-core), on a
// page of another origin. Called by the Rust heatmap test with Beacon's port and the site's
// domain, for a project that turned heatmaps on:
//
//   node heatmap.mjs <beacon port> <domain>
//
// The page /pricing (3000 px tall) is visited three times, each in a fresh context (a new
// pageview), at an 800 px tall viewport:
// - 1280 px wide (desktop): `#buy` clicked at its centre 3 times within a second (the third is a
//   rage click), the second nav link once, scrolled to half the document's height;
// - 900 px (tablet): `#buy` clicked once at 10 % of its width and half its height, scrolled to
//   the bottom;
// - 375 px (phone): the paragraph of main's second div clicked twice, 1.5 s apart (no rage
//   click), no scroll.
// Each ends by hiding the page as a tab switch does, which sends the pageview's report, and
// waits for its answer. It prints one JSON line: the status of every `POST /api/heatmap` (0 for
// no answer), the bodies they carried (parsed JSON) and the config request's status.

import http from "node:http";
import { chromium } from "playwright-core";

const [beaconPort, domain] = process.argv.slice(2);
if (!beaconPort || !domain) {
  console.error("usage: node heatmap.mjs <beacon port> <domain>");
  process.exit(2);
}
const beacon = `beacon.test:${beaconPort}`;

const page = `<!doctype html><html><head><meta charset="utf-8"><title>Pricing</title>
<script defer data-domain="${domain}" src="http://${beacon}/js/replay.js"></script>
<style>nav a { display: inline-block; width: 40px; height: 20px; }</style></head>
<body style="margin:0;height:3000px">
<button id="buy" type="button" style="width:200px;height:50px">Buy</button>
<nav><a href="#a">A</a><a href="#b">B</a></nav>
<main><div><p>one</p></div><div><p>two</p></div></main>
<script>
document.querySelector("nav").addEventListener("click", (event) => event.preventDefault());
</script></body></html>`;
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(page);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));

// Whatever happens, no hanging: the whole run is bounded.
setTimeout(() => {
  console.error("heatmap.mjs: timed out after 90 s");
  process.exit(1);
}, 90_000).unref();

/** Resolves after `ms` milliseconds. */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const isReport = (request) => request.method() === "POST" && new URL(request.url()).pathname === "/api/heatmap";

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: [`--host-resolver-rules=MAP ${domain} 127.0.0.1, MAP beacon.test 127.0.0.1`],
});
const report = { statuses: [], bodies: [], config_status: null };
let failed = false;

/**
 * One pageview at `width` × 800: `act(tab)` clicks and scrolls once the loader collects,
 * then the page is hidden and its report's answer awaited (bounded).
 */
async function visit(width, act) {
  const context = await browser.newContext({
    viewport: { width, height: 800 },
    // A regular desktop Chrome user agent: Beacon treats HeadlessChrome as a bot.
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
  });
  try {
    let answered = 0;
    context.on("response", (response) => {
      if (new URL(response.url()).pathname === "/api/replay/config") report.config_status = response.status();
    });
    // The answer's status also when Chromium aborts reading an empty body; 0 when none came.
    const settled = async (request) => {
      if (!isReport(request)) return;
      const status = (await request.response().catch(() => null))?.status() ?? 0;
      let body = null;
      try {
        body = JSON.parse(request.postData() ?? "");
      } catch {
        // A body Chromium did not report: null.
      }
      report.statuses.push(status);
      report.bodies.push(body);
      answered++;
    };
    context.on("requestfinished", settled);
    context.on("requestfailed", settled);

    const tab = await context.newPage();
    await tab.goto(`http://${domain}:${server.address().port}/pricing`, { waitUntil: "load" });
    // The loader collects once Beacon's config answered with heatmaps on.
    const collecting = await tab
      .waitForFunction(() => window.__beaconHeatmaps === true, null, { timeout: 5000 })
      .then(() => true)
      .catch(() => false);
    if (!collecting) return;
    await act(tab);
    // Scroll events are dispatched at the next frame.
    await sleep(300);
    await tab.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    const until = Date.now() + 5000;
    while (Date.now() < until && answered === 0) await sleep(100);
    // Anything more (there should be nothing) has a moment to show.
    await sleep(300);
  } finally {
    await context.close();
  }
}

/** Clicks `selector` at (`x`, `y`) fractions of its box. */
async function clickAt(tab, selector, x, y) {
  const box = await tab.locator(selector).boundingBox({ timeout: 5000 });
  if (!box) throw new Error(`${selector} is not visible`);
  await tab.mouse.click(box.x + box.width * x, box.y + box.height * y);
}

try {
  await visit(1280, async (tab) => {
    for (let i = 0; i < 3; i++) await clickAt(tab, "#buy", 0.5, 0.5);
    await clickAt(tab, "nav a:nth-of-type(2)", 0.5, 0.5);
    await tab.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight / 2));
  });
  await visit(900, async (tab) => {
    await clickAt(tab, "#buy", 0.1, 0.5);
    await tab.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  });
  await visit(375, async (tab) => {
    await clickAt(tab, "main > div:nth-of-type(2) > p", 0.5, 0.5);
    await sleep(1500);
    await clickAt(tab, "main > div:nth-of-type(2) > p", 0.5, 0.5);
  });
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
