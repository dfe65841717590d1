// The official @sentry/browser in Debian's headless Chromium (playwright-core), on a page of
// another origin whose application code is minified with a source map.
//
//   node browser-sdk.mjs build <dir>          bundles the app (dir/static/app.min.js + .map)
//                                             and the SDK (dir/sentry.js)
//   node browser-sdk.mjs run <dir> <dsn>      serves dir on shop.example, throws an error and
//                                             an unhandled rejection, flushes
//
// The Rust test uploads the minified file and its map between the two steps.

import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { build } from "esbuild";

const [command, dir, dsn] = process.argv.slice(2);
const here = new URL(".", import.meta.url).pathname;

if (command === "build") {
  await build({
    entryPoints: [join(here, "app/main.js")],
    bundle: true,
    minify: true,
    format: "iife",
    sourcemap: true,
    sourcesContent: true,
    outfile: join(dir, "static/app.min.js"),
    logLevel: "warning",
  });
  await build({
    entryPoints: [join(here, "sentry-entry.js")],
    bundle: true,
    minify: true,
    format: "iife",
    globalName: "Sentry",
    outfile: join(dir, "sentry.js"),
    logLevel: "warning",
  });
  console.log(JSON.stringify({ built: true }));
  process.exit(0);
}
if (command !== "run" || !dir || !dsn) {
  console.error("usage: node browser-sdk.mjs build <dir> | run <dir> <dsn>");
  process.exit(2);
}

const { chromium } = await import("playwright-core");
const files = {
  "/static/app.min.js": () => readFileSync(join(dir, "static/app.min.js")),
  "/sentry.js": () => readFileSync(join(dir, "sentry.js")),
};
const server = http.createServer((req, res) => {
  const path = new URL(req.url, "http://shop").pathname;
  if (files[path]) {
    res.writeHead(200, { "content-type": "application/javascript" });
    return res.end(files[path]());
  }
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<script src="/sentry.js"></script>
<script>Sentry.init({ dsn: ${JSON.stringify(dsn)}, release: "shop-web@1.0.0", environment: "test" });
Sentry.setUser({ id: "visitor-7" });</script>
<script src="/static/app.min.js"></script></head><body><h1>Checkout</h1></body></html>`);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = server.address().port;

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP shop.example 127.0.0.1, MAP beacon.test 127.0.0.1"],
});
const report = { sent: [] };
try {
  // A regular desktop Chrome user agent: Beacon treats HeadlessChrome as a bot.
  const context = await browser.newContext({
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
  });
  const page = await context.newPage();
  // The two errors' envelopes (the SDK may also send sessions and client reports), once answered.
  let bothAnswered;
  const answered = new Promise((resolve) => {
    bothAnswered = resolve;
  });
  page.on("response", (response) => {
    if (!response.url().includes("/envelope/")) return;
    report.sent.push(response.status());
    if (/"type":"event"/.test(response.request().postData() ?? "")) {
      report.events = (report.events ?? 0) + 1;
      if (report.events === 2) bothAnswered();
    }
  });
  await page.goto(`http://shop.example:${port}/checkout`);
  await page.evaluate(() => window.runCheckout());
  await page.evaluate(() => window.runProfile());
  let timer;
  await Promise.race([
    answered,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`2 error envelopes not answered within 10 s: ${report.sent}`)), 10_000);
    }),
  ]).finally(() => clearTimeout(timer));
  report.flushed = await page.evaluate(() => Sentry.flush(5000));
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(report));
