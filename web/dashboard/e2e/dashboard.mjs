// The dashboard end to end, in headless Chromium (Debian's, through playwright-core),
// against a real `beacon serve` whose e-mails go to a real SMTP server's maildir. Called by
// the Rust test `dashboard::e2e` with Beacon's port, the maildir and a directory for
// screenshots; prints a JSON report the Rust test checks against the database.
//
// 1. sign up, verify through the e-mailed link, create an organization and a project;
// 2. open a test page carrying the real tracker (another origin);
// 3. see the pageview and a custom event on the dashboard (and the setup check turn green);
// 4. apply a filter from a panel, and see it in the URL and after a reload;
// 5. invite a second user as viewer, who joins and sees no controls they cannot use, while
//    the owner, walking the same pages with the same locators, sees every one of them.
//
// Any uncaught page error or console error fails the run (see `watch` for the one expected
// kind). Screenshots from an earlier run are removed first, so each one checked is this run's.
//
// Hosts are mapped inside Chromium only: Beacon is http://beacon.test:<port> (its public
// URL, so e-mailed links point there) and the shop is http://shop.example:<port>.

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { linkFromMail as linkFromMailIn, joinBeacon as signUpAndIn } from "./lib.mjs";

const [beaconPort, maildir, shots] = process.argv.slice(2);
if (!beaconPort || !maildir || !shots) {
  console.error("usage: node dashboard.mjs <beacon port> <maildir> <screenshot dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.endsWith(".png")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const PASSWORD = "correct horse battery";
const OWNER = "owner@shop.example";
const VIEWER = "viewer@shop.example";
const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
const report = { steps: [], a11y: {} };
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const started = Date.now();
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e: ${name} (at ${((Date.now() - started) / 1000).toFixed(1)} s)`);
};

/** Uncaught errors and console errors of every page, each failing the run. */
const problems = [];

/**
 * Records `page`'s uncaught errors and console errors. Allowed, and only these: Chromium's own
 * console line for a response the test means to be refused, given in `expected` as its status
 * and the end of its URL (Chromium logs every 4xx answer as a console error).
 */
function watch(page, who, expected) {
  page.on("pageerror", (error) => problems.push(`${who}: uncaught ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    const url = message.location().url ?? "";
    const allowed = expected.some(
      ({ status, path }) =>
        text.startsWith(`Failed to load resource: the server responded with a status of ${status} (`) &&
        new URL(url).pathname.endsWith(path),
    );
    if (!allowed) problems.push(`${who}: console error ${text} (${url})`);
  });
}

/**
 * Controls a viewer must not be offered, each found by one locator. The owner walks the same
 * pages with the same locators and must see every one: a renamed or moved control then fails
 * the owner's walk instead of letting the viewer's absence check pass unnoticed.
 */
const GUARDED = {
  newProjectForm: (p) => p.getByRole("button", { name: "Create project" }),
  apiKeysLink: (p) => p.getByRole("link", { name: "API keys" }),
  settingsTab: (p) => p.getByRole("link", { name: "Settings" }),
  addGoal: (p) => p.getByRole("button", { name: "Add goal" }),
  issueActions: (p) => p.getByRole("group", { name: "Issue state" }),
  inviteForm: (p) => p.getByLabel("Email to invite"),
  roleSelects: (p) => p.getByRole("combobox", { name: /Role of/ }),
  settingsForm: (p) => p.getByRole("button", { name: "Save changes" }),
};

/**
 * Walks the organization, the project's dashboard, its goals, the error issue, the members and
 * the project's settings as `p`'s user and counts, on each page, the guarded controls it may
 * carry, once what every role sees there has loaded. With `present` (the owner) each control is
 * first waited for; one that never comes counts 0. `onDashboard` runs on the dashboard.
 */
async function countGuarded(p, projectUrl, { present, onDashboard }) {
  const counts = {};
  const count = async (...names) => {
    for (const name of names) {
      const locator = GUARDED[name](p);
      if (present)
        await locator
          .first()
          .waitFor({ timeout: 10_000 })
          .catch(() => {});
      counts[name] = await locator.count();
    }
  };
  const [, , org] = new URL(projectUrl).pathname.split("/");
  await p.goto(`${beacon}/orgs/${org}`);
  await p.getByRole("heading", { name: "Shop Inc" }).waitFor();
  await count("newProjectForm", "apiKeysLink");
  await p.getByRole("link", { name: "Shop", exact: true }).click();
  await p.locator('[data-metric="visitors"]').waitFor();
  await count("settingsTab");
  await onDashboard?.();
  await p.getByRole("link", { name: "Goals & funnels" }).click();
  await p.getByRole("heading", { name: "Goals (last 30 days)" }).waitFor();
  await count("addGoal");
  await p.getByRole("link", { name: "Errors" }).click();
  await p.getByRole("combobox", { name: "State" }).selectOption("all");
  await p.getByRole("link", { name: "TypeError: price is undefined" }).click();
  await p.getByText("return cart.price.amount;").waitFor();
  await count("issueActions");
  await p.getByRole("link", { name: "Members" }).click();
  await p.getByRole("cell", { name: VIEWER }).first().waitFor();
  await count("inviteForm", "roleSelects");
  await p.goto(`${projectUrl}/settings`);
  await p.getByRole("heading", { name: "Project settings" }).waitFor();
  await count("settingsForm");
  return counts;
}

/** The first link in an e-mail to `to` whose URL contains `path`, once it has arrived. */
const linkFromMail = (to, path) => linkFromMailIn(maildir, to, path);

// The shop: one page with the real tracker and a custom event.
const shop = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<script>window.beacon=window.beacon||function(){(beacon.q=beacon.q||[]).push(arguments)};window.done=[];
if(location.pathname==="/landing")beacon("Signup",{props:{plan:"pro"},callback:function(r){done.push(r)}});</script>
<script defer data-domain="shop.example" src="${beacon}/js/script.js"></script></head>
<body><h1>Landing</h1></body></html>`);
});
await new Promise((resolve) => shop.listen(0, "127.0.0.1", resolve));
const shopPort = shop.address().port;

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP shop.example 127.0.0.1, MAP beacon.test 127.0.0.1"],
});

/** Signs up, verifies by e-mail and signs in; ends signed in. */
const joinBeacon = (page, email, startUrl) =>
  signUpAndIn(page, { maildir, email, password: PASSWORD, signupUrl: `${beacon}/signup`, startUrl });

/** WCAG 2 A/AA violations axe-core finds on the page as it is (contrast, labels, names…). */
async function audit(page, name) {
  await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  report.a11y[name] = violations;
}

async function screenshot(page, name, width, scheme) {
  await page.setViewportSize({ width, height: 900 });
  await page.emulateMedia({ colorScheme: scheme });
  // The chart redraws on resize and on a change of colour scheme: wait until every chart on
  // the page has been drawn for this width and scheme (LineChart records both).
  await page.waitForFunction(
    (scheme) =>
      [...document.querySelectorAll(".chart")].every(
        (chart) => chart.dataset.theme === scheme && chart.dataset.width === String(Math.max(chart.clientWidth, 280)),
      ),
    scheme,
  );
  await page.screenshot({ path: join(shots, `${name}-${width}-${scheme}.png`), fullPage: true });
}

const open = [];
try {
  // bypassCSP lets axe-core be injected for the audits; the viewer's context keeps the CSP,
  // so the app is also exercised under the policy it ships with.
  const owner = await browser.newContext({ userAgent: UA, viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await owner.newPage();
  open.push(page);
  // Signed out, the app asks for the session and is told 401.
  watch(page, "owner", [{ status: 401, path: "/api/v1/auth/session" }]);

  // 1. Sign up, verify, create an organization and a project.
  step("signup");
  await page.goto(`${beacon}/login`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await audit(page, "login");
  await joinBeacon(page, OWNER);
  await page.getByRole("heading", { name: "Create your organization" }).waitFor();
  await page.getByLabel("Organization name").fill("Shop Inc");
  await page.getByRole("button", { name: "Create organization" }).click();
  step("create project");
  await page.getByLabel("Project name").fill("Shop");
  await page.getByLabel("Domain").fill("shop.example");
  await page.getByLabel("Time zone").fill("UTC");
  await page.getByRole("button", { name: "Create project" }).click();
  await page.getByText("Waiting for the first event").waitFor();
  await audit(page, "setup");
  report.snippet = await page.getByLabel("Tracking snippet").textContent();

  // 2. A visit to the shop, with the real tracker.
  step("visit the shop");
  const visitor = await browser.newContext({ userAgent: UA });
  const shopPage = await visitor.newPage();
  watch(shopPage, "shop", []);
  await shopPage.goto(`http://shop.example:${shopPort}/landing?utm_source=newsletter`);
  await shopPage.waitForFunction(() => window.done.length >= 1, null, { timeout: 15_000 });
  report.trackerStatus = await shopPage.evaluate(() => window.done[0].status);
  await visitor.close();
  // A second visitor (another browser) on another page, so filters have something to remove.
  const second = await browser.newContext({ userAgent: UA.replace("Chrome/156", "Chrome/155") });
  const secondPage = await second.newPage();
  watch(secondPage, "second shop visit", []);
  const pageview = secondPage.waitForResponse((r) => r.url().endsWith("/api/event"), { timeout: 15_000 });
  await secondPage.goto(`http://shop.example:${shopPort}/pricing`);
  report.secondStatus = (await pageview).status();
  await second.close();
  await page.getByText("Events are arriving").waitFor({ timeout: 20_000 });

  // 3. The dashboard shows them.
  step("dashboard");
  await page.getByRole("link", { name: "Open the dashboard" }).click();
  const visitors = page.locator('[data-metric="visitors"]');
  await visitors.waitFor();
  report.visitors = await visitors.textContent();
  report.pageviews = await page.locator('[data-metric="pageviews"]').textContent();
  const pages = page.getByRole("region", { name: "Pages" });
  await pages.getByRole("button", { name: /\/landing/ }).waitFor();
  const events = page.getByRole("region", { name: "Custom events" });
  await events.getByRole("button", { name: /Signup/ }).waitFor();
  report.eventRow = await events.getByRole("button", { name: /Signup/ }).textContent();
  const sources = page.getByRole("region", { name: "Sources" });
  await sources.getByRole("button", { name: /newsletter/ }).waitFor();
  report.sourceRows = await sources.locator("ul.bars").getByRole("button").allTextContents();
  for (const width of [1280, 375]) {
    for (const scheme of ["light", "dark"]) {
      await screenshot(page, "dashboard", width, scheme);
      await audit(page, `dashboard-${width}-${scheme}`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "light" });
  report.horizontalOverflowAt375 = await (async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    // The chart re-lays itself out after a resize (a ResizeObserver): wait for the layout to
    // settle rather than read it in the same frame; an overflow that stays 3 s is reported.
    const overflow = await page
      .waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: 3000 })
      .then(() => false)
      .catch(() => true);
    await page.setViewportSize({ width: 1280, height: 900 });
    return overflow;
  })();

  // 4. A filter from a panel row: in the URL, on every panel, and after a reload.
  step("filter");
  await pages.getByRole("button", { name: /\/landing/ }).click();
  await page.getByRole("list", { name: "Filters" }).getByText("/landing").waitFor();
  report.filteredUrl = page.url();
  await page.reload();
  await page.getByRole("list", { name: "Filters" }).getByText("/landing").waitFor();
  await visitors.waitFor();
  report.visitorsFiltered = await visitors.textContent();
  // Keyboard: on a fresh page the first Tab reaches the skip link.
  await page.keyboard.press("Tab");
  report.firstTab = await page.evaluate(() => document.activeElement?.textContent);
  await page.getByRole("button", { name: "Remove filter Page" }).click();
  await page.waitForFunction(() => !location.search.includes("f."));
  report.unfilteredUrl = page.url();

  // Goals: the custom event as a goal, with its conversions.
  step("goal");
  await page.getByRole("link", { name: "Goals & funnels" }).click();
  await page.getByLabel("Event name").fill("Signup");
  await page.getByRole("button", { name: "Add goal" }).click();
  const goalRow = page.getByRole("row", { name: /Signup/ });
  await goalRow.getByRole("cell", { name: "50%" }).waitFor();
  report.goalRow = await goalRow.innerText();
  await audit(page, "goals");

  // Errors: an event through the Sentry endpoint, as an SDK would send it; the issue, its
  // stack trace, and resolving it.
  step("errors");
  const projectPath = new URL(page.url()).pathname.replace(/\/goals$/, "");
  const projectJson = await page.evaluate((p) => fetch(`/api/v1${p}`).then((r) => r.json()), projectPath);
  const envelope = [
    JSON.stringify({ event_id: "0123456789abcdef0123456789abcdef" }),
    JSON.stringify({ type: "event" }),
    JSON.stringify({
      platform: "javascript",
      release: "shop@1.0.0",
      exception: {
        values: [
          {
            type: "TypeError",
            value: "price is undefined",
            mechanism: { type: "onerror", handled: false },
            stacktrace: {
              frames: [
                {
                  filename: "https://shop.example/static/cart.js",
                  function: "checkout",
                  lineno: 12,
                  colno: 5,
                  in_app: true,
                  pre_context: ["function checkout(cart) {"],
                  context_line: "  return cart.price.amount;",
                  post_context: ["}"],
                },
              ],
            },
          },
        ],
      },
      breadcrumbs: [{ timestamp: Date.now() / 1000, category: "ui.click", message: "button#pay" }],
      tags: { plan: "pro" },
    }),
  ].join("\n");
  const sentryResponse = await fetch(
    `http://127.0.0.1:${beaconPort}/api/${projectJson.ingest_id}/envelope/?sentry_key=${projectJson.ingest_key}`,
    { method: "POST", body: envelope },
  );
  report.sentryStatus = sentryResponse.status;
  await page.getByRole("link", { name: "Errors" }).click();
  await page.getByRole("link", { name: "TypeError: price is undefined" }).click();
  await page.getByText("return cart.price.amount;").waitFor();
  report.issueCulprit = await page.getByText("checkout (cart.js)").count();
  await screenshot(page, "issue", 1280, "light");
  await audit(page, "issue");
  await page.getByRole("button", { name: "Resolve", exact: true }).click();
  await page.getByTestId("issue-status").getByText("resolved", { exact: true }).waitFor();
  report.issueStatus = await page.getByTestId("issue-status").textContent();
  await page.getByRole("link", { name: "Web Vitals" }).click();
  await page.getByText("No samples yet").waitFor();
  await audit(page, "vitals");
  await page.getByRole("link", { name: "Goals & funnels" }).click();

  // 5. Invite a viewer, who joins through the e-mailed link.
  step("invite viewer");
  await page.getByRole("link", { name: "Members" }).click();
  await page.getByLabel("Email to invite").fill(VIEWER);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await page.getByText(`${VIEWER}`).waitFor();
  await audit(page, "members");
  const invitation = await linkFromMail(VIEWER, "/invitations/accept");
  report.ownerProjectUrl = `${beacon}${new URL(report.filteredUrl).pathname}`;

  step("viewer joins");
  const viewerContext = await browser.newContext({ userAgent: UA, viewport: { width: 1280, height: 900 } });
  // The viewer's pages run under the CSP Beacon sends; any violation is recorded.
  await viewerContext.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  const viewer = await viewerContext.newPage();
  open.push(viewer);
  // Signed out, the session probe gets 401; below, the viewer's attempt to change the project
  // gets 403.
  const [, , ownerOrg, , ownerProject] = new URL(report.ownerProjectUrl).pathname.split("/");
  watch(viewer, "viewer", [
    { status: 401, path: "/api/v1/auth/session" },
    { status: 403, path: `/api/v1/orgs/${ownerOrg}/projects/${ownerProject}` },
  ]);
  // Through the invitation link: create an account, verify it, sign in, and be back at the
  // invitation.
  await joinBeacon(viewer, VIEWER, invitation);
  await viewer.getByRole("button", { name: "Accept invitation" }).click();
  await viewer.getByRole("heading", { name: "Shop Inc" }).waitFor();
  const onViewerDashboard = {};
  const viewerCounts = await countGuarded(viewer, report.ownerProjectUrl, {
    present: false,
    onDashboard: async () => {
      await viewer.getByRole("region", { name: "Main graph" }).locator("canvas").waitFor();
      onViewerDashboard.cspViolations = await viewer.evaluate(() => window.__csp);
      onViewerDashboard.sees = await viewer.locator('[data-metric="visitors"]').textContent();
    },
  });
  report.viewer = { ...viewerCounts, ...onViewerDashboard };
  // The server refuses too: the viewer's own session cannot change the project.
  report.viewer.patchStatus = await viewer.evaluate(async (url) => {
    const session = await (await fetch("/api/v1/auth/session")).json();
    const [, , org, , project] = new URL(url).pathname.split("/");
    const response = await fetch(`/api/v1/orgs/${org}/projects/${project}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", "x-csrf-token": session.csrf_token },
      body: JSON.stringify({ name: "Hijacked" }),
    });
    return response.status;
  }, report.ownerProjectUrl);
  await viewerContext.close();

  // The positive control: the owner, on the same pages, finds every control the viewer did not.
  step("owner sees the guarded controls");
  report.owner = await countGuarded(page, report.ownerProjectUrl, { present: true });
  await owner.close();
} catch (error) {
  // What each page showed when it failed, for the test's output.
  for (const [index, page] of open.entries()) {
    if (page.isClosed()) continue;
    await page.screenshot({ path: join(shots, `failure-${index}.png`), fullPage: true }).catch(() => {});
    console.error(
      `page ${index} at ${page.url()}:\n${await page
        .locator("body")
        .innerText()
        .catch(() => "")}`,
    );
  }
  throw error;
} finally {
  await browser.close();
  shop.close();
  if (problems.length) console.error(`page errors:\n${problems.join("\n")}`);
}
console.log(JSON.stringify(report));
if (problems.length) process.exit(1);
