// Drives the real tracker in headless Chromium (Debian's, through playwright-core) against a
// running `beacon serve`. Called by the Rust test `tracker_browser` with Beacon's port; it
// serves the test pages itself from another origin, performs the actions, and prints what the
// tracker's callbacks reported as JSON. The Rust test then checks what Beacon stored, and
// closes this script's stdin once it has found every event: Chromium stays open until then,
// because a request may outlive its page (the outbound link's) and the browser cannot say
// when it was answered. An uncaught error on a page fails the script.
//
// Hosts are mapped inside Chromium only: pages live at http://shop.example:<port> and Beacon
// at http://beacon.test:<port>, both on 127.0.0.1, so the page and the tracker are on
// different origins and the page is not "localhost".

import http from "node:http";
import { chromium } from "playwright-core";

const beaconPort = process.argv[2];
if (!beaconPort) {
  console.error("usage: node browser.mjs <beacon port>");
  process.exit(2);
}
const beacon = `http://beacon.test:${beaconPort}`;
const queue = "window.beacon=window.beacon||function(){(beacon.q=beacon.q||[]).push(arguments)};window.results=[];";

function page(script, body, head = "") {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<script>${queue}${head}</script>
<script defer data-domain="shop.example" src="${beacon}/js/${script}"></script>
</head><body>${body}</body></html>`;
}

let pagePort;
const pages = {
  "/landing": () =>
    page(
      "script.tagged-events.file-downloads.outbound-links.js",
      `<h1>Landing</h1>
<button id="newsletter" class="big beacon-event-name=Newsletter+Signup beacon-event-position=footer">Subscribe</button>
<a id="download" href="/files/report.pdf?token=secret">Report</a>
<a id="outbound" href="http://elsewhere.example:${pagePort}/away">Elsewhere</a>`,
      "beacon('Signup',{props:{plan:'pro'},revenue:{amount:'19.99',currency:'EUR'},callback:function(r){results.push(r)}});",
    ),
  "/hash": () => page("script.hash.js", "<h1>Hash app</h1>"),
  "/optout": () =>
    page(
      "script.js",
      "<h1>Opted out</h1>",
      "localStorage.beacon_ignore='true';beacon('Optout test',{callback:function(r){results.push(r)}});",
    ),
  "/local": () => page("script.js", "<h1>Local</h1>", "beacon('Local test',{callback:function(r){results.push(r)}});"),
};

const server = http.createServer((req, res) => {
  const path = new URL(req.url, "http://page").pathname;
  if (path.startsWith("/files/")) {
    res.writeHead(204);
    return res.end();
  }
  const render = pages[path];
  res.writeHead(render ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
  res.end(render ? render() : "<h1>Away</h1>");
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
pagePort = server.address().port;

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: [
    "--host-resolver-rules=MAP shop.example 127.0.0.1, MAP elsewhere.example 127.0.0.1, MAP beacon.test 127.0.0.1",
  ],
});
const report = {};
const pageErrors = [];
try {
  // A regular desktop Chrome user agent: Beacon drops HeadlessChrome as a bot.
  const context = await browser.newContext({
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
  });
  const tab = await context.newPage();
  tab.on("pageerror", (error) => pageErrors.push(error.message));
  const settle = async (count) => {
    await tab.waitForFunction((n) => window.results.length >= n, count, { timeout: 10000 });
  };

  // 1. A landing page with UTM tags and an event queued before the script loaded.
  await tab.goto(`http://shop.example:${pagePort}/landing?utm_source=newsletter&utm_medium=email`);
  await settle(1);
  report.queued = await tab.evaluate(() => window.results[0]);
  // 2. SPA navigation; pushing the same path again is not a second pageview.
  await tab.evaluate(() => history.pushState({}, "", "/pricing"));
  await tab.evaluate(() => history.pushState({ again: true }, "", "/pricing"));
  // 3. A tagged element, a file download and an outbound link.
  await tab.click("#newsletter");
  await tab.click("#download");
  await Promise.all([tab.waitForURL(/elsewhere\.example/), tab.click("#outbound")]);
  // 4. Hash routing.
  await tab.goto(`http://shop.example:${pagePort}/hash#/one`);
  await tab.waitForFunction(() => typeof window.beacon === "function" && !window.beacon.q);
  // The second pageview is answered before the page is left.
  const second = tab.waitForResponse(
    (r) => r.url().endsWith("/api/event") && r.request().postData()?.includes("#/two"),
  );
  await tab.evaluate(() => {
    location.hash = "#/two";
  });
  await second;
  // 5. The opt-out flag, and a page on a local address: both ignored in the browser.
  await tab.goto(`http://shop.example:${pagePort}/optout`);
  await settle(1);
  report.optout = await tab.evaluate(() => window.results[0]);
  await tab.goto(`http://127.0.0.1:${pagePort}/local`);
  await settle(1);
  report.local = await tab.evaluate(() => window.results[0]);
  console.log(JSON.stringify(report));
  await new Promise((resolve) => {
    process.stdin.on("end", resolve);
    process.stdin.resume();
  });
  await context.close();
} finally {
  await browser.close();
  server.close();
}
if (pageErrors.length) {
  console.error(`uncaught errors on the pages:\n${pageErrors.join("\n")}`);
  process.exit(1);
}
