// AI insights in headless Chromium (Debian's, through playwright-core) against the test's
// Beacon, whose AI endpoint is the fake OpenAI server (`ai::ai_insights_in_chromium`).
// Arguments: Beacon's port, a scratch directory, a screenshot directory, the owner's e-mail and
// password, the organization's id, the project's path and an error issue's id. Prints a JSON
// report the Rust test checks.
//
// 1. the owner signs in; Organization settings says AI insights are off; they switch them on;
// 2. on the dashboard, "Summarize this period" streams the highlights in, labelled as AI's,
//    with citations that link to the dashboard view of their figure;
// 3. on the error issue, "Explain this issue" streams an explanation;
// 4. the settings card counts the two answers; axe-core finds nothing on either page.

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { auditA11y, submitSignIn, watchPage } from "./lib.mjs";

const [beaconPort, , shots, email, password, orgId, projectPath, issueId] = process.argv.slice(2);
if (!beaconPort || !shots || !email || !password || !orgId || !projectPath || !issueId) {
  console.error("usage: node ai.mjs <port> <scratch> <shots> <email> <password> <org> <project path> <issue>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("ai-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const report = { steps: [], a11y: {} };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e ai: ${name}`);
};

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
try {
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  watchPage(page, problems);

  step("sign in and switch AI insights on");
  await page.goto(`${beacon}/login`);
  await submitSignIn(page, email, password);
  await page.goto(`${beacon}/orgs/${orgId}/settings`);
  const card = page.locator("section.card", { has: page.getByRole("heading", { name: "AI insights" }) });
  const state = card.getByTestId("ai-state");
  await state.waitFor();
  report.before = await state.innerText();
  await card.getByRole("button", { name: "Switch AI on" }).click();
  await card.getByRole("button", { name: "Switch AI off" }).waitFor();
  report.after = await state.innerText();

  step("summarize the period on the dashboard");
  await page.goto(`${beacon}${projectPath}?period=2026-11-16,2026-11-22`);
  const highlights = page.locator("section.card", { has: page.getByRole("heading", { name: "Highlights" }) });
  await highlights.getByRole("button", { name: "Summarize this period" }).click();
  const label = highlights.getByText(/^Written by AI/);
  // The answer, or the error the card shows instead (in the report when this fails).
  await label.or(highlights.getByRole("alert")).waitFor();
  if (await highlights.getByRole("alert").count()) throw new Error(await highlights.getByRole("alert").innerText());
  report.highlightsLabel = await label.innerText();
  report.highlights = await highlights.locator(".ai-answer p").first().innerText();
  const citation = highlights.locator("a.citation").first();
  report.citationTitle = await citation.getAttribute("title");
  report.citationHref = await citation.getAttribute("href");
  await auditA11y(page, axePath, report.a11y, "dashboard");
  await highlights.screenshot({ path: join(shots, "ai-highlights.png") });
  await citation.click();
  await page.waitForURL((url) => url.searchParams.get("metric") === "visitors");
  report.afterCitation = new URL(page.url()).search;

  step("explain the error issue");
  await page.goto(`${beacon}${projectPath}/errors/${issueId}`);
  const explain = page.locator("section.card", { has: page.getByRole("heading", { name: "Explain with AI" }) });
  await explain.getByRole("button", { name: "Explain this issue" }).click();
  await explain.getByText(/^Written by AI/).waitFor();
  report.explanation = await explain.locator(".ai-answer p").first().innerText();

  step("the settings card counts the answers");
  await page.goto(`${beacon}/orgs/${orgId}/settings`);
  const usage = card.getByRole("list", { name: "AI usage this month" });
  await usage.waitFor();
  report.usage = await usage.locator("li").allInnerTexts();
  await auditA11y(page, axePath, report.a11y, "settings");
} catch (error) {
  problems.push(`journey failed: ${error.stack ?? error}`);
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
