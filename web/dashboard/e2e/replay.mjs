// The session replay screens in headless Chromium (Debian's, through playwright-core) against
// the test's Beacon, once a recording is stored (the Rust replay test records one with
// web/tracker/test/replay.mjs first). Arguments: Beacon's port, the SMTP server's maildir (unused;
// kept for the journeys' common order), a screenshot directory, the owner's e-mail and password,
// the organization's id, the project's id, the recording's id, the error issue's id and the
// error's offset in the recording (ms). Prints a JSON report on the last stdout line; exits 1
// when the journey itself fails (the report then carries `error`), 2 on bad arguments.
//
// 1. the owner opens Replays, finds the recording's row (`tr[data-replay-id]`) and opens it;
// 2. once the player says `data-replay-state="ready"` (its first frame is drawn), the replayed
//    page is read from the player's iframe: what the recorder kept, masked or left out
//    (`player`), and how long the first frame took from the click (`first_frame_ms`);
// 3. the issue page's Replays card links the recording at the error: the player opens there
//    (`issue_link`: the URL and the player's `data-current-ms`; `inputs_at_error`: the fields'
//    values the player shows then);
// 4. axe-core finds nothing on the list and the player, light and dark (`a11y`);
// 5. the player under the CSP Beacon sends (no bypass): its console's CSP lines (`player_csp`).

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { auditA11y, submitSignIn, watchPage } from "./lib.mjs";

const [beaconPort, maildir, shots, ownerEmail, password, orgId, projectId, replayId, issueId, errorOffset] =
  process.argv.slice(2);
if (!beaconPort || !maildir || !shots || !ownerEmail || !password || !orgId || !projectId || !replayId || !issueId) {
  console.error(
    "usage: node replay.mjs <port> <maildir> <shots> <owner> <password> <org> <project> <replay> <issue> <error offset ms>",
  );
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("replay-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const projectPath = `/orgs/${orgId}/projects/${projectId}`;
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const report = { steps: [], a11y: {}, error_offset_ms: errorOffset === undefined ? null : Number(errorOffset) };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e replay: ${name}`);
};
const PLAYER = "[data-testid=replay-player]";

async function signIn(browser, { bypassCSP }) {
  // CSP bypassed so axe-core can be injected (the last step keeps it).
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP });
  const page = await context.newPage();
  if (bypassCSP) watchPage(page, problems);
  await page.goto(`${beacon}/login`);
  await submitSignIn(page, ownerEmail, password);
  return page;
}

/** Waits until the player drew its first frame; throws with the player's words if it failed. */
async function playerReady(page) {
  const settled = page.locator(`${PLAYER}[data-replay-state="ready"], ${PLAYER}[data-replay-state="error"]`);
  const unplayable = page.getByText("This recording has no full snapshot yet, so it cannot be played.");
  await settled.or(unplayable).first().waitFor({ timeout: 30_000 });
  if (await unplayable.count()) throw new Error("the recording is not playable (no full snapshot)");
  const state = await page.locator(PLAYER).getAttribute("data-replay-state");
  if (state !== "ready") {
    const said = await page
      .getByRole("alert")
      .allInnerTexts()
      .catch(() => []);
    throw new Error(`the player failed: ${said.join(" | ") || state}`);
  }
}

/** The player's position (`data-current-ms`). */
async function currentMs(page) {
  return Number(await page.locator(PLAYER).getAttribute("data-current-ms"));
}

/** What the replayed page in the player's iframe shows. */
function readReplayedPage(page) {
  return page.locator(`${PLAYER} iframe`).evaluate((frame) => {
    const doc = frame.contentDocument;
    if (!doc) return null;
    const valueAttribute = (selector) => doc.querySelector(selector)?.getAttribute("value") ?? null;
    const html = doc.documentElement?.outerHTML ?? "";
    return {
      has_buy_button: doc.getElementById("buy") !== null,
      heading_text: doc.querySelector("h1")?.textContent ?? null,
      paragraph_text: doc.querySelector("p")?.textContent ?? null,
      email_input_value: valueAttribute("input[type=email]"),
      password_input_value: valueAttribute("input[type=password]"),
      blocked_present:
        html.includes("Blocked content xyz") || (doc.body?.textContent ?? "").includes("Blocked content xyz"),
      body_text_sample: (doc.body?.innerText ?? "").slice(0, 300),
      sandbox: frame.getAttribute("sandbox"),
    };
  });
}

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
let page;
let failed = false;
try {
  page = await signIn(browser, { bypassCSP: true });

  step("the owner finds the recording on the Replays page");
  await page.goto(`${beacon}${projectPath}/replays`);
  report.replays_tab_current = await page
    .getByRole("navigation", { name: "Project" })
    .getByRole("link", { name: "Replays" })
    .getAttribute("aria-current");
  const row = page.locator(`tr[data-replay-id="${replayId}"]`);
  await row.waitFor({ timeout: 30_000 });
  report.list_row = await row.innerText();
  await page.screenshot({ path: join(shots, "replay-list.png"), fullPage: true });
  await auditA11y(page, axePath, report.a11y, "replays");

  step("the player draws the recording's first frame");
  const clicked = Date.now();
  await row.getByRole("link").first().click();
  await playerReady(page);
  report.first_frame_ms = Date.now() - clicked;
  report.player_url = page.url();
  report.player_current_ms = await currentMs(page);
  report.player = await readReplayedPage(page);
  await page.screenshot({ path: join(shots, "replay-player.png"), fullPage: true });
  await auditA11y(page, axePath, report.a11y, "player");

  step("the issue page links the recording at the error");
  await page.goto(`${beacon}${projectPath}/errors/${issueId}`);
  const card = page.locator("section.issue-replays");
  await card.waitFor();
  const link = card.getByRole("link").first();
  const none = card.getByText("No recording contains this error.");
  await link.or(none).first().waitFor({ timeout: 30_000 });
  if (!(await link.count())) throw new Error(`the issue's Replays card lists no recording: ${await card.innerText()}`);
  report.issue_link_href = await link.getAttribute("href");
  await link.click();
  await page.waitForURL((url) => url.pathname.includes("/replays/"));
  await playerReady(page);
  report.issue_link = { url: page.url(), current_ms: await currentMs(page) };
  // What the visitor had typed by then, as the player shows it (the fields' current values).
  report.inputs_at_error = await page.locator(`${PLAYER} iframe`).evaluate((frame) => {
    const doc = frame.contentDocument;
    return {
      email: doc?.querySelector("input[type=email]")?.value ?? null,
      password: doc?.querySelector("input[type=password]")?.value ?? null,
    };
  });
  await page.screenshot({ path: join(shots, "replay-at-error.png"), fullPage: true });

  step("the player under Beacon's CSP");
  const strict = await signIn(browser, { bypassCSP: false });
  const csp = [];
  strict.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text()))
      csp.push(message.text().slice(0, 240));
  });
  await strict.goto(`${beacon}${projectPath}/replays/${replayId}`);
  await playerReady(strict);
  report.player_csp = {
    count: csp.length,
    first: csp.slice(0, 5),
    heading_text: (await readReplayedPage(strict))?.heading_text ?? null,
  };
  await strict.context().close();
} catch (error) {
  failed = true;
  report.error = String(error?.stack ?? error);
  if (page && !page.isClosed()) {
    await page.screenshot({ path: join(shots, "replay-failure.png"), fullPage: true }).catch(() => {});
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
