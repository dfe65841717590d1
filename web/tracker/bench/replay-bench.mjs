// Session replay benchmarks in Debian's headless Chromium (playwright-core), against a running
// Beacon whose project for <domain> records (replay enabled, sample rate 1). Called by
// scripts/bench-replay; each command prints one JSON line.
//
//   node replay-bench.mjs record <port> <domain> <org> <project> <email> <password> <out.json> [runs] [seconds]
//
// The same scripted activity (default 60 s) on a realistic page of about 1,500 elements
// (navigation, 120 product cards, an article, a form, a footer; the page itself changes the DOM
// every second: a clock, a highlighted card, a notification list), `runs` times (default 3)
// without the replay loader and `runs` times with it (`/js/replay.js`, which loads
// `/js/replay-recorder.js`), alternating. Activity: mouse moves, clicks on cards' buttons,
// typing into the search and e-mail fields, wheel scrolling. For each run: long tasks
// (PerformanceObserver 'longtask', buffered from the page's start: count and total ms) and the
// difference of CDP `Performance.getMetrics` ScriptDuration and TaskDuration from
// DOMContentLoaded to the end of the activity. For each recorded run, after the page is hidden
// and left (the last chunk sent): the recording's `bytes`, `duration_ms` and `chunks` from the
// API list, and KB per recorded minute. The first recorded run's chunks (as stored, decoded)
// are written to <out.json>: a JSON array of chunks, each an array of rrweb events (the load
// generator's and the player command's input).
//
//   node replay-bench.mjs player <port> <domain> <org> <project> <email> <password> <recording.json> [minutes] [loads]
//
// Builds a recording of `minutes` (default 10) from <recording.json>: its chunk 0 (meta and
// full snapshot) once, then its incremental chunks repeated, each repetition's timestamps
// shifted by the recorded span, ending now; uploads it as a browser would (gzip,
// `POST /api/replay`, one chunk after another). Then `loads` times (default 5), each in a fresh
// browser context (cold cache, signed in through `POST /api/v1/auth/login`): from navigation to
// the player page until `[data-testid=replay-player][data-replay-state=ready]` (time-to-first-
// frame, `performance.now()` in the page when the attribute became `ready`), and until the
// last chunk's answer arrived (from the Node side, from the navigation's start).

import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { gunzipSync, gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
const [command, port, domain, org, project, email, password, file, ...rest] = process.argv.slice(2);
if (!["record", "player"].includes(command) || !file) {
  console.error(
    "usage: node replay-bench.mjs record|player <port> <domain> <org> <project> <email> <password> <file> [...]",
  );
  process.exit(2);
}
const beacon = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Signs in through the API: the session cookie header. */
async function signIn() {
  const res = await fetch(`${beacon}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`login: ${res.status} ${await res.text()}`);
  return res.headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0])
    .join("; ");
}

async function apiGet(cookie, path, binary = false) {
  const res = await fetch(`${beacon}${path}`, { headers: { cookie } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return binary ? Buffer.from(await res.arrayBuffer()) : res.json();
}

const launch = () =>
  chromium.launch({
    executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
    args: [`--host-resolver-rules=MAP ${domain} 127.0.0.1, MAP beacon.test 127.0.0.1`],
  });

// ---------------------------------------------------------------------------------------------
// record

/** A shop-like page of about 1,500 elements; `replay` adds the loader. */
function shopPage(replay) {
  const loader = replay
    ? `<script defer data-domain="${domain}" src="http://beacon.test:${port}/js/replay.js"></script>`
    : "";
  const nav = Array.from({ length: 20 }, (_, i) => `<li><a href="#c${i}">Category ${i}</a></li>`).join("");
  const cards = Array.from(
    { length: 120 },
    (
      _,
      i,
    ) => `<article class="card" id="card${i}"><div class="thumb" style="background:hsl(${(i * 37) % 360},60%,70%)"></div>
<h3>Product number ${i}</h3><p class="desc">A sturdy item for everyday use, <em>model ${i}</em>, with a <strong>two-year</strong> warranty.</p>
<div class="row"><span class="price">€${(i * 7.3 + 9).toFixed(2)}</span> <span class="stock">In stock</span></div>
<div class="row"><button type="button" class="add" data-i="${i}">Add to cart</button> <a href="#p${i}">Details</a></div></article>`,
  ).join("\n");
  const article = Array.from(
    { length: 30 },
    (_, i) =>
      `<p>Paragraph ${i} of the buying guide explains <a href="#g${i}">sizes</a>, materials and care, and why customers return for <b>more</b>.</p>`,
  ).join("\n");
  const footer = Array.from({ length: 40 }, (_, i) => `<li><a href="#f${i}">Footer link ${i}</a></li>`).join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<style>
body{font:14px/1.4 sans-serif;margin:0} header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:8px}
nav ul{display:flex;flex-wrap:wrap;gap:8px;list-style:none;margin:0;padding:0} main{display:flex;gap:16px;padding:16px}
.grid{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;flex:3} .card{border:1px solid #ddd;padding:8px;border-radius:6px}
.card.hot{outline:3px solid orange} .thumb{height:80px;border-radius:4px} aside{flex:1} .row{display:flex;gap:8px;align-items:center}
#notes li{background:#eef;margin:2px 0;padding:2px 4px} footer ul{columns:4}
</style>${loader}</head>
<body><header><strong>Shop</strong> <input id="search" placeholder="Search products"> <span id="cart">Cart: 0</span>
<span id="clock"></span><nav><ul>${nav}</ul></nav></header>
<main><section class="grid">${cards}</section>
<aside><h2>Buying guide</h2>${article}
<form onsubmit="return false"><label>E-mail <input type="email" id="email"></label>
<label>Message <textarea id="message"></textarea></label><button type="submit">Send</button></form>
<h3>Notifications</h3><ul id="notes"></ul></aside></main>
<footer><ul>${footer}</ul></footer>
<script>
let cart = 0, tick = 0;
document.addEventListener("click", (e) => {
  const b = e.target.closest(".add"); if (!b) return;
  cart++; document.getElementById("cart").textContent = "Cart: " + cart; b.textContent = "Added";
});
setInterval(() => {
  tick++;
  document.getElementById("clock").textContent = "Offer ends in " + (600 - tick) + " s";
  document.querySelectorAll(".card.hot").forEach((c) => c.classList.remove("hot"));
  document.getElementById("card" + ((tick * 7) % 120)).classList.add("hot");
  if (tick % 5 === 0) {
    const li = document.createElement("li"); li.textContent = "Someone just bought product " + ((tick * 13) % 120);
    const notes = document.getElementById("notes"); notes.prepend(li);
    while (notes.children.length > 5) notes.lastElementChild.remove();
  }
}, 1000);
</script></body></html>`;
}

/** The scripted activity, the same for every run: about `seconds` long. */
async function activity(tab, seconds) {
  const end = Date.now() + seconds * 1000;
  for (let round = 0; Date.now() < end; round++) {
    // Mouse over the grid.
    await tab.mouse.move(100 + ((round * 53) % 800), 150 + ((round * 31) % 400), { steps: 20 });
    // Click a card's button (scrolled into view by Playwright).
    await tab
      .locator(".add")
      .nth((round * 11) % 120)
      .click({ timeout: 3000 })
      .catch(() => {});
    await tab.mouse.wheel(0, round % 4 === 3 ? -1500 : 600);
    await sleep(400);
    if (round % 3 === 0) {
      await tab.locator("#search").click();
      await tab.locator("#search").fill("");
      await tab.locator("#search").pressSequentially(`shoes ${round}`, { delay: 60 });
    }
    if (round % 5 === 2) {
      await tab.locator("#email").click();
      await tab.locator("#email").fill("");
      await tab.locator("#email").pressSequentially("ada@example.com", { delay: 40 });
    }
    await tab.mouse.move(600, 300 + ((round * 17) % 200), { steps: 15 });
    await sleep(600);
  }
}

async function record() {
  const runs = Number(rest[0] ?? 3);
  const seconds = Number(rest[1] ?? 60);
  const server = http.createServer((req, res) => {
    const replay = new URL(req.url, "http://page").pathname === "/with-replay";
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(shopPage(replay));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const cookie = await signIn();
  const browser = await launch();
  const results = { off: [], on: [] };
  try {
    for (let run = 0; run < runs * 2; run++) {
      const replay = run % 2 === 1;
      const context = await browser.newContext({ userAgent: UA, viewport: { width: 1280, height: 800 } });
      const tab = await context.newPage();
      await tab.addInitScript(() => {
        window.__longtasks = [];
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) window.__longtasks.push(entry.duration);
        }).observe({ type: "longtask", buffered: true });
      });
      let session = null;
      let inFlight = 0;
      const statuses = [];
      context.on("request", (request) => {
        if (request.method() === "POST" && new URL(request.url()).pathname === "/api/replay") {
          session ??= new URL(request.url()).searchParams.get("s");
          inFlight++;
        }
      });
      const settled = async (request) => {
        if (request.method() === "POST" && new URL(request.url()).pathname === "/api/replay") {
          statuses.push((await request.response().catch(() => null))?.status() ?? 0);
          inFlight--;
        }
      };
      context.on("requestfinished", settled);
      context.on("requestfailed", settled);
      const cdp = await context.newCDPSession(tab);
      await cdp.send("Performance.enable");
      await tab.goto(`http://${domain}:${server.address().port}/${replay ? "with-replay" : "without"}`, {
        waitUntil: "domcontentloaded",
      });
      const metric = async () =>
        Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
      const before = await metric();
      const nodes = await tab.evaluate(() => document.getElementsByTagName("*").length);
      await activity(tab, seconds);
      const after = await metric();
      const longtasks = await tab.evaluate(() => window.__longtasks);
      const row = {
        nodes,
        longtasks: longtasks.length,
        longtask_ms: round(longtasks.reduce((a, b) => a + b, 0)),
        script_ms: round((after.ScriptDuration - before.ScriptDuration) * 1000),
        task_ms: round((after.TaskDuration - before.TaskDuration) * 1000),
      };
      if (replay) {
        // Hidden, as a tab switch: the last chunk goes out; then left.
        await tab.evaluate(() => {
          Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
          Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
          document.dispatchEvent(new Event("visibilitychange"));
        });
        for (const until = Date.now() + 10_000; Date.now() < until && inFlight > 0; ) await sleep(100);
        await tab.goto("about:blank");
        for (
          let quiet = 0, until = Date.now() + 5000;
          quiet < 500 && Date.now() < until;
          quiet = inFlight > 0 ? 0 : quiet + 100
        )
          await sleep(100);
      }
      await context.close();
      if (replay) {
        if (!session) throw new Error("the recorder sent nothing");
        const base = `/api/v1/orgs/${org}/projects/${project}/replays`;
        const list = await apiGet(cookie, base);
        const found = list.items.find((item) => item.id === session);
        if (!found) throw new Error(`recording ${session} not listed`);
        Object.assign(row, {
          id: session,
          statuses: [...new Set(statuses)],
          chunks: found.chunks,
          bytes: found.bytes,
          duration_ms: found.duration_ms,
          kb_per_minute: round(found.bytes / 1024 / (found.duration_ms / 60000)),
        });
        if (results.on.length === 0) {
          const detail = await apiGet(cookie, `${base}/${session}`);
          const chunks = [];
          const sizes = [];
          for (const chunk of detail.chunks) {
            const body = await apiGet(cookie, `${base}/${session}/chunks/${chunk.seq}`, true);
            sizes.push(body.length);
            chunks.push(JSON.parse((body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body).toString()));
          }
          writeFileSync(file, JSON.stringify(chunks));
          row.chunk_bytes = sizes;
        }
      }
      results[replay ? "on" : "off"].push(row);
      console.error(`${replay ? "on " : "off"} run: ${JSON.stringify(row)}`);
    }
  } finally {
    await browser.close();
    server.close();
  }
  const med = (side, key) => median(results[side].map((r) => r[key]));
  const summary = {};
  for (const key of ["longtasks", "longtask_ms", "script_ms", "task_ms"]) {
    summary[key] = { off: med("off", key), on: med("on", key), ratio: round(med("on", key) / med("off", key), 2) };
  }
  summary.kb_per_minute = med("on", "kb_per_minute");
  summary.bytes = med("on", "bytes");
  summary.duration_ms = med("on", "duration_ms");
  summary.chunks = med("on", "chunks");
  console.log(JSON.stringify({ seconds, runs, summary, results }));
}

// ---------------------------------------------------------------------------------------------
// player

async function player() {
  const minutes = Number(rest[0] ?? 10);
  const loads = Number(rest[1] ?? 5);
  const recorded = JSON.parse(readFileSync(file, "utf8"));
  const stamps = recorded.flat().map((e) => e.timestamp);
  const first = Math.min(...stamps);
  const span = Math.max(...stamps) - first + 1000;
  const repeats = Math.ceil((minutes * 60_000) / span);
  // Chunk 0 once, then the incremental chunks `repeats` times, each repetition `span` later.
  const chunks = [recorded[0]];
  for (let r = 0; r < repeats; r++) {
    for (const chunk of recorded.slice(1)) chunks.push(chunk.map((e) => ({ ...e, timestamp: e.timestamp + r * span })));
  }
  const last = Math.max(...chunks.flat().map((e) => e.timestamp));
  const shift = Date.now() - 10_000 - last;
  const id = randomUUID();
  let bytes = 0;
  for (const [seq, chunk] of chunks.entries()) {
    const body = gzipSync(JSON.stringify(chunk.map((e) => ({ ...e, timestamp: e.timestamp + shift }))));
    bytes += body.length;
    const res = await fetch(`${beacon}/api/replay?d=${domain}&s=${id}&n=${seq}`, {
      method: "POST",
      headers: { "content-type": "text/plain;charset=UTF-8", "user-agent": UA },
      body,
    });
    if (res.status !== 202) throw new Error(`chunk ${seq}: ${res.status} ${await res.text()}`);
  }
  const cookie = await signIn();
  const detail = await apiGet(cookie, `/api/v1/orgs/${org}/projects/${project}/replays/${id}`);
  const url = `${beacon}/orgs/${org}/projects/${project}/replays/${id}`;
  const browser = await launch();
  const rows = [];
  try {
    for (let load = 0; load < loads; load++) {
      const context = await browser.newContext({ userAgent: UA, viewport: { width: 1280, height: 900 } });
      const res = await context.request.post(`${beacon}/api/v1/auth/login`, { data: { email, password } });
      if (!res.ok()) throw new Error(`login: ${res.status()}`);
      const tab = await context.newPage();
      await tab.addInitScript(() => {
        new MutationObserver((_, observer) => {
          const el = document.querySelector("[data-testid=replay-player][data-replay-state=ready]");
          if (el) {
            window.__readyAt = performance.now();
            observer.disconnect();
          }
        }).observe(document, {
          subtree: true,
          childList: true,
          attributes: true,
          attributeFilter: ["data-replay-state"],
        });
      });
      let chunksAnswered = 0;
      let lastChunkAt = 0;
      const sizes = [];
      tab.on("requestfinished", (request) => {
        if (/\/replays\/[^/]+\/chunks\/\d+$/.test(new URL(request.url()).pathname)) {
          chunksAnswered++;
          lastChunkAt = Date.now();
          sizes.push(
            request.sizes().then(
              (s) => s.responseBodySize,
              () => 0,
            ),
          );
        }
      });
      const start = Date.now();
      await tab.goto(url, { waitUntil: "commit" });
      await tab.waitForSelector("[data-testid=replay-player][data-replay-state=ready]", { timeout: 60_000 });
      const wallReady = Date.now() - start;
      const readyMs = await tab.evaluate(() => window.__readyAt);
      for (const until = Date.now() + 60_000; Date.now() < until && chunksAnswered < chunks.length; ) await sleep(20);
      rows.push({
        ready_ms: round(readyMs),
        ready_wall_ms: wallReady,
        all_chunks_ms: chunksAnswered >= chunks.length ? lastChunkAt - start : null,
        chunks_answered: chunksAnswered,
        chunk_bytes: (await Promise.all(sizes)).reduce((a, b) => a + b, 0),
      });
      console.error(`load ${load + 1}: ${JSON.stringify(rows.at(-1))}`);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  console.log(
    JSON.stringify({
      id,
      minutes,
      chunks: chunks.length,
      uploaded_bytes: bytes,
      stored_bytes: detail.replay.bytes,
      duration_ms: detail.replay.duration_ms,
      ready_ms_median: median(rows.map((r) => r.ready_ms)),
      ready_wall_ms_median: median(rows.map((r) => r.ready_wall_ms)),
      all_chunks_ms_median: rows.every((r) => r.all_chunks_ms !== null)
        ? median(rows.map((r) => r.all_chunks_ms))
        : null,
      loads: rows,
    }),
  );
}

await (command === "record" ? record() : player());
