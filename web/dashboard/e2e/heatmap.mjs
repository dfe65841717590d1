// The heatmaps screen in headless Chromium (Debian's, through playwright-core) against the
// test's Beacon, once heatmap reports (and, for the snapshot, a recording of the page) are
// stored. Arguments: Beacon's port, the SMTP server's maildir (unused; kept for the journeys'
// common order), a screenshot directory, the owner's e-mail and password, the organization's
// id, the project's id and the page's path. Prints a JSON report on the last stdout line; exits
// 1 when the journey itself fails (the report then carries `error`), 2 on bad arguments.
//
// 1. under the CSP Beacon sends (no bypass), the owner opens
//    `/orgs/{org}/projects/{project}/heatmaps?page=<page>&device=desktop&period=day` directly
//    (a full load) and waits until the overlay says `data-heatmap-state="ready"` or the screen
//    says there is no snapshot (20 s); then reads the circles drawn (`points`: each one's
//    `data-selector` and `data-clicks`), whether a snapshot was drawn (`snapshot`), the "Most
//    clicked elements" table (`elements`), the scroll-depth bars (`scroll`) and counts the
//    console's Content Security Policy messages (`csp_errors`, the first few in `csp`);
// 2. the same screen with the CSP bypassed, so axe-core can be injected: axe-core's
//    violations, light and dark (`a11y`).

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { auditA11y, submitSignIn, watchPage } from "./lib.mjs";

const [beaconPort, maildir, shots, ownerEmail, password, orgId, projectId, pagePath] = process.argv.slice(2);
if (!beaconPort || !maildir || !shots || !ownerEmail || !password || !orgId || !projectId || !pagePath) {
  console.error("usage: node heatmap.mjs <port> <maildir> <shots> <owner> <password> <org> <project> <page path>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("heatmap-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const query = new URLSearchParams({ page: pagePath, device: "desktop", period: "day" });
const heatmapsUrl = `${beacon}/orgs/${orgId}/projects/${projectId}/heatmaps?${query}`;
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const report = {
  steps: [],
  url: heatmapsUrl,
  snapshot: null,
  points: [],
  elements: [],
  scroll: [],
  csp_errors: null,
  a11y: {},
};
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e heatmap: ${name}`);
};
const OVERLAY = "[data-testid=heatmap-overlay]";
const NO_SNAPSHOT = "[data-testid=heatmap-no-snapshot]";

async function signIn(browser, { bypassCSP }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP });
  const page = await context.newPage();
  await page.goto(`${beacon}/login`);
  await submitSignIn(page, ownerEmail, password);
  return page;
}

/**
 * Opens the heatmaps screen by a full load and waits until the circles are drawn or the screen
 * says there is no snapshot; answers whether a snapshot was drawn. Throws with the screen's
 * words when it failed.
 */
async function openHeatmaps(page) {
  await page.goto(heatmapsUrl);
  const settled = page.locator(
    `${OVERLAY}[data-heatmap-state="ready"], ${OVERLAY}[data-heatmap-state="error"], ${NO_SNAPSHOT}`,
  );
  await settled.first().waitFor({ timeout: 20_000 });
  if (await page.locator(NO_SNAPSHOT).count()) return false;
  const state = await page.locator(OVERLAY).getAttribute("data-heatmap-state");
  if (state !== "ready") {
    const said = await page
      .getByRole("alert")
      .allInnerTexts()
      .catch(() => []);
    throw new Error(`the snapshot failed: ${said.join(" | ") || state}`);
  }
  return true;
}

/** The circles drawn over the snapshot. */
function readPoints(page) {
  return page
    .locator(`${OVERLAY} [data-selector]`)
    .evaluateAll((points) =>
      points.map((point) => ({ selector: point.dataset.selector, clicks: Number(point.dataset.clicks) })),
    );
}

/** A number as the screen writes it ("1,234"; "0"). */
const count = (text) => Number(String(text).replace(/[^\d.]/g, ""));

/** The "Most clicked elements" table, read from its cells. */
async function readElements(page) {
  const rows = await page
    .getByRole("table")
    .filter({ has: page.getByRole("columnheader", { name: "Rage clicks" }) })
    .locator("tbody tr")
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent.trim())));
  return rows.map(([selector, clicks, rage]) => ({ selector, clicks: count(clicks), rage_clicks: count(rage) }));
}

/** The scroll-depth bars: each one's depth and share, and the words it shows. */
function readScroll(page) {
  return page
    .getByRole("list", { name: "Share of pageviews reaching each depth" })
    .locator("li")
    .evaluateAll((items) =>
      items.map((item) => ({
        depth: Number(item.dataset.depth),
        share: Number(item.dataset.share),
        text: item.textContent.replace(/\s+/g, " ").trim(),
      })),
    );
}

/** What the snapshot's frame was laid out as. */
function readFrame(page) {
  return page
    .locator("[data-testid=heatmap-snapshot] iframe")
    .evaluate((frame) => ({
      width: Number(frame.getAttribute("width")),
      height: Number(frame.getAttribute("height")),
      transform: frame.parentElement?.style.transform ?? null,
      body_elements: frame.contentDocument?.body?.querySelectorAll("*").length ?? null,
      sandbox: frame.getAttribute("sandbox"),
    }))
    .catch(() => null);
}

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
let page;
let failed = false;
try {
  step("the heatmap under Beacon's CSP, opened by a full load");
  page = await signIn(browser, { bypassCSP: false });
  const csp = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) csp.push(message.text().slice(0, 240));
  });
  watchPage(page, problems);
  const opened = Date.now();
  report.snapshot = await openHeatmaps(page);
  report.settled_ms = Date.now() - opened;
  report.heatmaps_tab_current = await page
    .getByRole("navigation", { name: "Project" })
    .getByRole("link", { name: "Heatmaps" })
    .getAttribute("aria-current");
  if (report.snapshot) {
    report.points = await readPoints(page);
    report.overlay_points = Number(await page.locator(OVERLAY).getAttribute("data-points"));
    report.frame = await readFrame(page);
  } else {
    report.no_snapshot_text = await page.locator(NO_SNAPSHOT).innerText();
  }
  report.elements = await readElements(page);
  report.rage_clicks = count(await page.getByTestId("heatmap-rage-clicks").innerText());
  report.scroll = await readScroll(page);
  // Late CSP reports (the frame's images, say) come in after the first draw.
  await page.waitForTimeout(500);
  report.csp_errors = csp.length;
  report.csp = csp.slice(0, 5);
  await page.screenshot({ path: join(shots, "heatmap-desktop.png"), fullPage: true });
  await page.context().close();

  step("axe-core on the heatmap, light and dark");
  page = await signIn(browser, { bypassCSP: true });
  await openHeatmaps(page);
  await auditA11y(page, axePath, report.a11y, "heatmaps");
} catch (error) {
  failed = true;
  report.error = String(error?.stack ?? error);
  if (page && !page.isClosed()) {
    await page.screenshot({ path: join(shots, "heatmap-failure.png"), fullPage: true }).catch(() => {});
    console.error(
      `page at ${page.url()}:\n${await page
        .locator("body")
        .innerText()
        .catch(() => "")}`,
    );
  }
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
