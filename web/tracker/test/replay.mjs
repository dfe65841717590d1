// Session replay through Beacon's /js/replay.js (which loads /js/replay-recorder.js, rrweb) in
// Debian's headless Chromium (playwright-core), on a page of another origin. Called by the Rust
// replay test with Beacon's port, the site's domain and optionally a Sentry DSN:
//
//   node replay.mjs <beacon port> <domain> [<sentry dsn>]
//
// The page has texts, an e-mail and a password field and a blocked element; the script types
// into the fields, clicks, scrolls, navigates like a single-page app, and (with a DSN, through
// the official @sentry/browser) throws an error, then hides the page as a tab switch does so the
// last chunk is sent. It prints one JSON line: the session id, the status of every
// `POST /api/replay` (0 for a network error), the config request's status, whether the recorder
// loaded and the page's uncaught errors; also each chunk request's sequence number (`seqs`),
// which of the page's private strings appeared in an uploaded chunk (`leaked`; none should:
// all is masked) and, with a DSN, whether the SDK flushed its error (`errors_flushed`).
// REPLAY_DNT=1 turns Do-Not-Track on: nothing may be recorded, and the waits are short.

import http from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const [beaconPort, domain, dsn] = process.argv.slice(2);
if (!beaconPort || !domain) {
  console.error("usage: node replay.mjs <beacon port> <domain> [<sentry dsn>]");
  process.exit(2);
}
const dnt = process.env.REPLAY_DNT === "1";
const beacon = `beacon.test:${beaconPort}`;
/** Strings on the page that must reach Beacon masked, if at all. */
const SECRETS = [
  "Checkout for Ada",
  "Secret plan number 4242",
  "ada@example.com",
  "hunter2",
  "Blocked content xyz",
  // A hidden input's value, and the page address's query and fragment.
  "csrf-9f8e7d",
  "ref-q5ecret",
  "t0ps3cret",
];

// npm ships no browser-ready @sentry/browser bundle (and the CDN is not reachable): bundle the
// parts the page uses, as web/errors/test does.
let sentry = "";
let sentryInit = "";
if (dsn) {
  const web = join(dirname(fileURLToPath(import.meta.url)), "../..");
  const bundled = await build({
    stdin: { contents: 'export { flush, init } from "@sentry/browser";', resolveDir: web },
    bundle: true,
    minify: true,
    format: "iife",
    globalName: "Sentry",
    write: false,
    logLevel: "warning",
  });
  sentry = bundled.outputFiles[0].text;
  const rewritten = new URL(dsn);
  rewritten.host = beacon;
  sentryInit = `<script src="/sentry.js"></script>
<script>Sentry.init({ dsn: ${JSON.stringify(rewritten.href)}, release: "shop-web@1.0.0" });</script>`;
}

const page = `<!doctype html><html><head><meta charset="utf-8"><title>Checkout</title>${sentryInit}
<script defer data-domain="${domain}" src="http://${beacon}/js/replay.js"></script></head>
<body><h1>Checkout for Ada</h1>
<p>Secret plan number 4242</p>
<form onsubmit="return false"><input type="hidden" name="csrf" value="csrf-9f8e7d"><input type="email" id="email"> <input type="password" id="password"></form>
<div class="beacon-block">Blocked content xyz</div>
<button id="buy" type="button">Buy</button> <button id="boom" type="button">Boom</button>
<div style="height:3000px"></div>
<script>
document.getElementById("boom").addEventListener("click", () => {
  throw new Error("Replay test boom");
});
</script></body></html>`;
const server = http.createServer((req, res) => {
  if (new URL(req.url, "http://page").pathname === "/sentry.js" && sentry) {
    res.writeHead(200, { "content-type": "application/javascript" });
    return res.end(sentry);
  }
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(page);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));

/** Resolves after `ms` milliseconds. */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const isChunk = (request) => request.method() === "POST" && new URL(request.url()).pathname === "/api/replay";

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: [`--host-resolver-rules=MAP ${domain} 127.0.0.1, MAP beacon.test 127.0.0.1`],
});
const report = {
  session: null,
  statuses: [],
  config_status: null,
  recorder_loaded: false,
  page_errors: [],
  seqs: [],
  leaked: [],
};
let inFlight = 0;
/** The latest event time (the page's clock) among the answered chunks. */
let answeredUntil = 0;
let failed = false;
try {
  const context = await browser.newContext({
    // A regular desktop Chrome user agent: Beacon treats HeadlessChrome as a bot.
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
  });
  const tab = await context.newPage();
  if (dnt) await tab.addInitScript(() => Object.defineProperty(navigator, "doNotTrack", { get: () => "1" }));
  tab.on("pageerror", (error) => report.page_errors.push(error.message));
  // On the context: the last chunk's request may outlive the page.
  context.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (path === "/api/replay/config") report.config_status = response.status();
    if (path === "/js/replay-recorder.js" && response.ok()) report.recorder_loaded = true;
  });
  context.on("request", (request) => {
    if (!isChunk(request)) return;
    inFlight++;
    const params = new URL(request.url()).searchParams;
    report.session ??= params.get("s");
    report.seqs.push(Number(params.get("n")));
  });
  /** Records a chunk's answer (0: none) and what it carried. */
  const answered = async (request, status) => {
    report.statuses.push(status);
    try {
      let body = request.postDataBuffer() ?? Buffer.alloc(0);
      if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
      const text = body.toString();
      report.leaked.push(...SECRETS.filter((secret) => text.includes(secret) && !report.leaked.includes(secret)));
      for (const event of JSON.parse(text)) answeredUntil = Math.max(answeredUntil, event.timestamp ?? 0);
    } catch {
      // A body Chromium did not report: the chunk still counts as answered.
    } finally {
      inFlight--;
    }
  };
  // The answer's status also when Chromium aborts reading an empty body; 0 when none came.
  const settled = async (request) => {
    if (isChunk(request)) await answered(request, (await request.response().catch(() => null))?.status() ?? 0);
  };
  context.on("requestfinished", settled);
  context.on("requestfailed", settled);

  await tab.goto(`http://${domain}:${server.address().port}/checkout?ref=ref-q5ecret#t0ps3cret`, { waitUntil: "load" });
  // The loader decides at once (Do-Not-Track: no config request at all); the recorder records
  // from its first moment, and its first chunk goes out within 5 s.
  const configured = await tab
    .waitForResponse((r) => new URL(r.url()).pathname === "/api/replay/config", { timeout: 3000 })
    .catch(() => null);
  if (configured?.ok()) {
    await tab.waitForRequest(isChunk, { timeout: 15_000 }).catch(() => null);
  }
  const email = tab.locator("#email");
  await email.click();
  await email.pressSequentially("ada@example.com");
  const password = tab.locator("#password");
  await password.click();
  await password.pressSequentially("hunter2-secret");
  await tab.click("#buy");
  await tab.evaluate(() => window.scrollTo(0, 1500));
  await tab.evaluate(() => history.pushState({}, "", "/step-2"));
  // Back to the top, so the last click scrolls nothing (a scroll is recorded 100 ms late).
  await tab.evaluate(() => window.scrollTo(0, 0));
  await sleep(1000);
  // The last interaction's events are the ones to see answered before the end; rrweb batches
  // mouse positions for 500 ms.
  const mark = await tab.evaluate(() => Date.now());
  if (dsn) await tab.click("#boom");
  else await tab.click("h1");
  await sleep(700);
  await tab.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  // Until the chunk with the last interaction was answered and nothing is in flight; bounded,
  // since a stopped or never-loaded recorder sends nothing more.
  const until = Date.now() + (report.recorder_loaded ? 15_000 : 3000);
  while (Date.now() < until && (inFlight > 0 || answeredUntil < mark)) await sleep(100);
  if (dsn) report.errors_flushed = await tab.evaluate(() => Sentry.flush(5000));
  // Leaving the page sends whatever rrweb still recorded (pagehide): until nothing has been in
  // flight for 500 ms.
  await tab.goto("about:blank");
  const leftBy = Date.now() + 5000;
  for (let quiet = 0; quiet < 500 && Date.now() < leftBy; quiet = inFlight > 0 ? 0 : quiet + 100) await sleep(100);
  await context.close();
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
