// Saved segments and custom dashboards in headless Chromium (Debian's, through playwright-core)
// against the test's Beacon (`custom_dashboards::custom_dashboards_in_chromium`). Arguments:
// Beacon's port, a scratch directory, a screenshot directory, the owner's e-mail and password,
// the organization's id and the project's id. Prints a JSON report the Rust test checks.
//
// 1. on the dashboard, filter by a page, save the filter as a shared segment, and read the
//    visitors the dashboard then shows (through the segment), before and after a reload;
// 2. make a custom dashboard, add four widgets (one a note with a script in it), save; drag
//    the note to the top left, save, reload: the layout is the saved one;
// 3. a second tab saves over a change made meanwhile: the conflict is shown, nothing is lost;
// 4. a phone shows one column; axe-core finds nothing in both themes;
// 5. a 12-widget dashboard: time from navigation to its last widget drawn (median of 5).

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { auditA11y, submitSignIn, watchPage } from "./lib.mjs";

const [beaconPort, , shots, email, password, orgId, projectId] = process.argv.slice(2);
if (!beaconPort || !shots || !email || !password || !orgId || !projectId) {
  console.error("usage: node boards.mjs <port> <scratch> <shots> <email> <password> <org> <project>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("boards-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const projectPath = `/orgs/${orgId}/projects/${projectId}`;
const api = `/api/v1/orgs/${orgId}/projects/${projectId}`;
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const report = { steps: [], a11y: {} };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e boards: ${name}`);
};

/** A JSON call from the page, with its session and CSRF token. */
async function call(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = await (await fetch("/api/v1/auth/session")).json();
      const response = await fetch(path, {
        method,
        headers: { "content-type": "application/json", "x-csrf-token": session.csrf_token },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json().catch(() => null) };
    },
    { method, path, body },
  );
}

/** Waits until every widget on the page has drawn (no "Loading…" left). */
async function widgetsDrawn(page, count) {
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll(".board-cell .widget").length === n &&
      !document.querySelector(".board-cell [role=status]"),
    count,
    { timeout: 60_000 },
  );
}

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
try {
  // CSP bypassed so axe-core can be injected; that also means a note's script would run if
  // the note were rendered as HTML, so the note check does not lean on the CSP. The CSP the
  // server sends is read from the board's response and checked by the Rust test.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  watchPage(page, problems);

  step("sign in");
  await page.goto(`${beacon}/login`);
  await submitSignIn(page, email, password);

  step("save a filter as a shared segment and use it");
  await page.goto(`${beacon}${projectPath}?period=day&f.event:page=/pricing`);
  const visitors = page.locator('.metric-value[data-metric="visitors"]');
  await visitors.waitFor();
  report.filteredVisitors = await visitors.innerText();
  await page.getByRole("button", { name: "Save filters as segment" }).click();
  await page.getByLabel("Segment name").fill("Pricing visitors");
  await page.getByLabel("Share with the organization").check();
  await page.getByRole("button", { name: "Save segment" }).click();
  await page.waitForURL((url) => url.searchParams.has("f.segment"));
  const chosenSegment = () =>
    page.locator('select[aria-label="Segment"]').evaluate((select) => select.selectedOptions[0]?.textContent ?? "");
  await page.waitForFunction(() =>
    document
      .querySelector('select[aria-label="Segment"]')
      ?.selectedOptions[0]?.textContent?.includes("Pricing visitors"),
  );
  await page.waitForLoadState("networkidle");
  report.segmentVisitors = await visitors.innerText();
  await page.reload({ waitUntil: "networkidle" });
  await visitors.waitFor();
  report.segmentAfterReload = await chosenSegment();
  report.segmentVisitorsAfterReload = await visitors.innerText();
  await page.getByRole("combobox", { name: "Segment" }).selectOption("");
  await page.waitForURL((url) => !url.searchParams.has("f.segment"));
  await page.waitForLoadState("networkidle");
  report.allVisitors = await visitors.innerText();

  step("annotate the dashboard's graph");
  await page.getByRole("button", { name: "Annotate" }).click();
  await page.getByLabel("Note").fill("v2.3 deployed");
  await page.getByRole("button", { name: "Add annotation" }).click();
  const annotation = page.getByRole("region", { name: "Annotations" }).getByRole("listitem");
  await annotation.waitFor();
  report.annotation = await annotation.innerText();
  await page.reload({ waitUntil: "networkidle" });
  await page.locator('.chart[data-markers]:not([data-markers=""])').waitFor();
  report.markers = await page.locator(".graph .chart").getAttribute("data-markers");
  await page.getByRole("button", { name: "Comments on annotation v2.3 deployed" }).click();
  const annotationThread = page.getByRole("region", { name: "Annotations" }).getByRole("form", { name: "New comment" });
  await annotationThread.getByLabel("Comment (Markdown)").fill("Shipped at lunch");
  await annotationThread.getByRole("button", { name: "Comment" }).click();
  await page
    .getByRole("region", { name: "Annotations" })
    .locator(".comment", { hasText: "Shipped at lunch" })
    .waitFor();
  const annotated = await call(page, "GET", `${api}/annotations?period=day`);
  const annotationId = annotated.body[0].id;
  const annotationThread2 = await call(page, "GET", `${api}/comments?target_kind=annotation&target_id=${annotationId}`);
  report.annotationThread = annotationThread2.body.comments.map((c) => c.body);

  step("make a dashboard and add widgets");
  await page.goto(`${beacon}${projectPath}/dashboards`);
  await page.getByLabel("Name of the new dashboard").fill("Launch week");
  await page.getByRole("button", { name: "Create dashboard" }).click();
  await page.waitForURL((url) => /\/dashboards\/[0-9a-f-]{36}$/.test(url.pathname));
  const boardUrl = page.url().split("?")[0];
  const boardId = boardUrl.split("/").pop();
  const boardResponse = await page.goto(boardUrl);
  report.boardCsp = boardResponse?.headers()["content-security-policy"] ?? null;
  await page.getByRole("button", { name: "Edit dashboard" }).click();
  const form = page.getByRole("form", { name: "Add a widget" });
  const add = async (kind, title, fill) => {
    await page.getByRole("button", { name: "Add widget" }).click();
    await form.getByLabel("Kind").selectOption({ label: kind });
    await form.getByLabel("Title").fill(title);
    if (fill) await fill();
    await form.getByRole("button", { name: "Add widget" }).click();
    await form.waitFor({ state: "detached" });
  };
  await add("Metric with comparison", "Visitors");
  await add("Breakdown table", "Top pages");
  await add("Time series", "Trend");
  await add("Text note (Markdown)", "Release notes", () =>
    form
      .getByLabel("Text (Markdown)")
      .fill("**v2.3** shipped <script>window.__owned = 1</script> [details](javascript:window.__owned=2)"),
  );
  await page.getByRole("button", { name: "Save dashboard" }).click();
  await page.getByRole("button", { name: "Edit dashboard" }).waitFor();
  await widgetsDrawn(page, 4);
  const note = page.locator(".board-cell", { has: page.getByRole("heading", { name: "Release notes" }) });
  report.noteText = await note.locator(".markdown").innerText();
  report.noteScriptElements = await note.locator("script").count();
  report.noteLinks = await note.locator("a").count();
  report.owned = await page.evaluate(() => window.__owned ?? null);
  const saved = await call(page, "GET", `${api}/dashboards/${boardId}`);
  report.savedWidgets = saved.body.widgets.map((w) => ({ id: w.id, kind: w.kind, x: w.x, y: w.y, w: w.w, h: w.h }));

  step("drag the note to the top left and save");
  // Tall enough that the note and the grid's top are both in view (the mouse moves in it).
  await page.setViewportSize({ width: 1280, height: 1800 });
  await page.getByRole("button", { name: "Edit dashboard" }).click();
  const handle = note.locator(".widget-handle");
  const from = await handle.boundingBox();
  const grid = await page.locator(".board-grid").boundingBox();
  await page.mouse.move(from.x + 40, from.y + from.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 20; i++) {
    await page.mouse.move(
      from.x + 40 + ((grid.x + 30 - from.x - 40) * i) / 20,
      from.y + from.height / 2 + ((grid.y + 10 - from.y - from.height / 2) * i) / 20,
    );
  }
  await page.mouse.up();
  await page.getByRole("button", { name: "Save dashboard" }).click();
  await page.getByRole("button", { name: "Edit dashboard" }).waitFor();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.reload({ waitUntil: "networkidle" });
  await widgetsDrawn(page, 4);
  const moved = await call(page, "GET", `${api}/dashboards/${boardId}`);
  report.movedWidgets = moved.body.widgets.map((w) => ({ id: w.id, kind: w.kind, x: w.x, y: w.y, w: w.w, h: w.h }));
  report.versionAfterMove = moved.body.version;
  const noteBox = await note.boundingBox();
  const gridBox = await page.locator(".board-grid").boundingBox();
  report.noteAtTopLeft = Math.abs(noteBox.x - gridBox.x) < 40 && Math.abs(noteBox.y - gridBox.y) < 40;
  await auditA11y(page, axePath, report.a11y, "board");
  await page.screenshot({ path: join(shots, "boards-dashboard.png"), fullPage: true });

  step("a stale edit from a second tab is refused and loses nothing");
  const second = await context.newPage();
  // The stale save's 409 is the answer this step provokes.
  watchPage(second, problems, /status of 40[1349]/);
  await second.goto(boardUrl);
  await widgetsDrawn(second, 4);
  await second.getByRole("button", { name: "Edit dashboard" }).click();
  await second.getByLabel("Dashboard name").fill("Second tab's name");
  // Meanwhile the first tab renames it and saves.
  await page.getByRole("button", { name: "Edit dashboard" }).click();
  await page.getByLabel("Dashboard name").fill("First tab's name");
  await page.getByRole("button", { name: "Save dashboard" }).click();
  await page.getByRole("button", { name: "Edit dashboard" }).waitFor();
  await second.getByRole("button", { name: "Save dashboard" }).click();
  const conflict = second.getByRole("alert").filter({ hasText: "someone else saved" });
  await conflict.waitFor();
  report.conflict = await conflict.innerText();
  await second.screenshot({ path: join(shots, "boards-conflict.png") });
  await second.getByRole("button", { name: "Reload the saved dashboard" }).click();
  await second.getByRole("heading", { name: "First tab's name" }).waitFor();
  report.nameAfterConflict = await second.getByRole("heading", { name: "First tab's name" }).innerText();
  await second.close();

  step("discuss the dashboard in its thread");
  await page.goto(boardUrl);
  await widgetsDrawn(page, 4);
  const discussion = page.getByRole("form", { name: "New comment" });
  await discussion.getByLabel("Comment (Markdown)").fill("Traffic **doubled** <img src=x onerror=window.__owned=3>");
  await discussion.getByRole("button", { name: "Comment" }).click();
  const comment = page.locator(".comment").first();
  await comment.locator("strong", { hasText: "doubled" }).waitFor();
  report.comment = await comment.locator(".markdown").innerText();
  report.commentImages = await comment.locator("img").count();
  await discussion.getByRole("button", { name: "Resolve thread" }).click();
  await page.getByText("This thread is resolved.").waitFor();
  report.owned = report.owned ?? (await page.evaluate(() => window.__owned ?? null));
  await page.getByRole("button", { name: "Comments on Visitors" }).click();
  await page.getByRole("heading", { name: "Discussion: Visitors" }).waitFor();
  await page.getByText("No comments yet.").waitFor();
  await discussion.getByLabel("Comment (Markdown)").fill("Why did this double?");
  await discussion.getByRole("button", { name: "Comment" }).click();
  await page.locator(".comment", { hasText: "Why did this double?" }).waitFor();
  const widgetThread = await call(page, "GET", `${api}/comments?target_kind=widget&target_id=${boardId}/w1`);
  report.widgetThread = widgetThread.body.comments.map((c) => c.body);
  await page.goto(`${beacon}${projectPath}/activity`);
  const newest = page.locator(".activity li").first();
  await newest.waitFor();
  report.activityNewest = await newest.innerText();
  await auditA11y(page, axePath, report.a11y, "activity");

  step("the list, a phone, and accessibility");
  await page.goto(`${beacon}${projectPath}/dashboards?all=1`);
  await page.getByRole("link", { name: "First tab's name" }).waitFor();
  await auditA11y(page, axePath, report.a11y, "dashboards");
  await page.screenshot({ path: join(shots, "boards-list.png") });
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    bypassCSP: true,
    storageState: await context.storageState(),
  });
  const small = await phone.newPage();
  watchPage(small, problems);
  await small.goto(boardUrl);
  await small.locator(".board-column").waitFor();
  report.phoneColumn = await small.locator(".board-column > .board-cell").count();
  report.phoneGrid = await small.locator(".react-grid-layout").count();
  await auditA11y(small, axePath, report.a11y, "board-phone");
  await small.screenshot({ path: join(shots, "boards-phone.png"), fullPage: true });
  await phone.close();

  step("share the dashboard with a password and open it without an account");
  await page.goto(boardUrl);
  await widgetsDrawn(page, 4);
  await page.getByRole("button", { name: "Share" }).click();
  const share = page.getByRole("form", { name: "Share this dashboard" });
  await share.getByLabel("Link name").fill("Investors");
  await share.getByLabel("Password (optional)").fill("open sesame 42");
  await share.getByRole("button", { name: "Create link" }).click();
  const sharedUrl = await page.getByLabel("Shared link").inputValue();
  report.sharedUrlShape = sharedUrl.replace(/\/share\/.*/, "/share/…");
  const stranger = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const visitor = await stranger.newPage();
  // The wrong password (401), the other site (404) and, once paused, the link (410) are expected.
  watchPage(visitor, problems, /status of 4(0[149]|10)/);
  await visitor.goto(sharedUrl);
  await visitor.getByRole("heading", { name: "This dashboard has a password" }).waitFor();
  await visitor.getByLabel("Password").fill("not it");
  await visitor.getByRole("button", { name: "Open" }).click();
  report.wrongPassword = await visitor.getByRole("alert").innerText();
  await visitor.getByLabel("Password").fill("open sesame 42");
  await visitor.getByRole("button", { name: "Open" }).click();
  await widgetsDrawn(visitor, 4);
  report.sharedHeading = await visitor.getByRole("heading", { level: 1 }).innerText();
  report.sharedVisitors = await visitor.locator(".widget-metrics .value").first().innerText();
  report.sharedNote = await visitor.locator(".markdown").first().innerText();
  const token = new URL(sharedUrl).pathname.split("/").pop();
  report.visitorTries = await visitor.evaluate(
    async ({ token, orgId, projectId }) => {
      const grant = sessionStorage.getItem(`beacon-share-grant:${token}`);
      const headers = { "content-type": "application/json", "x-beacon-share-grant": grant };
      const query = (site) =>
        fetch(`/api/v1/shared/${token}/query`, {
          method: "POST",
          headers,
          body: JSON.stringify({ site_id: site, metrics: ["visitors"], date_range: "30d" }),
        }).then((r) => r.status);
      return {
        ownSite: await query("boards.example"),
        otherSite: await query("stats.example"),
        write: await fetch(`/api/v1/orgs/${orgId}/projects/${projectId}/dashboards`, {
          method: "POST",
          headers,
          body: JSON.stringify({ name: "Taken over" }),
        }).then((r) => r.status),
        membersRead: await fetch(`/api/v1/orgs/${orgId}/projects/${projectId}/goals`).then((r) => r.status),
      };
    },
    { token, orgId, projectId },
  );
  await auditA11y(visitor, axePath, report.a11y, "shared");
  await visitor.screenshot({ path: join(shots, "boards-shared.png"), fullPage: true });

  step("pause the link: the visitor is stopped at once");
  await page.goto(`${beacon}/orgs/${orgId}/shared-links`);
  await page.getByRole("button", { name: "Pause Investors" }).click();
  await page.getByRole("button", { name: "Resume Investors" }).waitFor();
  await auditA11y(page, axePath, report.a11y, "shared-links");
  await page.screenshot({ path: join(shots, "boards-shared-links.png") });
  await visitor.reload();
  const stopped = visitor.getByRole("alert");
  await stopped.waitFor();
  report.afterPause = await stopped.innerText();
  await stranger.close();

  step("a 12-widget dashboard loads");
  const kinds = [
    { kind: "metric", query: { metrics: ["visitors", "pageviews"] } },
    { kind: "metric", query: { metrics: ["bounce_rate", "visit_duration"] } },
    { kind: "time_series", query: { metrics: ["visitors"], dimensions: ["time:day"] } },
    { kind: "time_series", query: { metrics: ["pageviews"], dimensions: ["time:hour"] }, period: "day" },
    { kind: "breakdown", query: { metrics: ["visitors"], dimensions: ["event:page"] } },
    { kind: "breakdown", query: { metrics: ["visitors"], dimensions: ["visit:source"] } },
    { kind: "breakdown", query: { metrics: ["visitors"], dimensions: ["visit:country"] } },
    { kind: "breakdown", query: { metrics: ["visitors"], dimensions: ["visit:browser"] } },
    { kind: "errors" },
    { kind: "vitals" },
    { kind: "retention" },
    { kind: "note", text: "Twelve widgets" },
  ];
  const widgets = kinds.map((k, i) => ({
    id: `w${i}`,
    title: `Widget ${i}`,
    x: (i % 3) * 4,
    y: Math.floor(i / 3) * 6,
    w: 4,
    h: 6,
    ...k,
  }));
  const big = await call(page, "POST", `${api}/dashboards`, { name: "Twelve", widgets });
  if (big.status !== 201) throw new Error(`making the 12-widget dashboard: ${JSON.stringify(big)}`);
  const timings = [];
  for (let run = 0; run < 5; run++) {
    const started = Date.now();
    await page.goto(`${beacon}${projectPath}/dashboards/${big.body.id}?period=30d`);
    await widgetsDrawn(page, 12);
    timings.push(Date.now() - started);
  }
  timings.sort((a, b) => a - b);
  report.twelveWidgetLoadMs = { runs: timings, median: timings[2] };
} catch (error) {
  problems.push(`journey: ${error.stack ?? error}`);
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
