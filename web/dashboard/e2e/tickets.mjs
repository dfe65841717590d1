// Error issues into an issue tracker, end to end in headless Chromium (Debian's, through
// playwright-core) against a real `beacon serve` with its in-process workers and the test's fake
// Jira (tests/fakes/trackers.py). Called by the Rust test `trackers::the_tickets_journey_in_chromium`
// with Beacon's port, the maildir, a screenshot directory, the fake's base URL, its control URL
// and the project's Sentry-style store path; prints a JSON report it checks.
//
// 1. an owner signs up, creates an organization and a project;
// 2. on Channels they add a Jira connector (site, account, project key, labels, token) and send
//    a test, which the fake answers (the token and project work);
// 3. an error arrives; on its page they click "Create ticket in Jira OPS", and the card shows
//    OPS-1 once the worker made it, without a reload;
// 4. on the Alerts tab they choose the connector for new and regressed error issues;
// 5. another error arrives: the worker makes OPS-2, and that page links to it;
// 6. they resolve the issue: the ticket gets a comment; axe-core finds nothing on either
//    screen, light and dark.

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { auditA11y, createOrgAndProject, eventually, eventuallyDelivered, joinBeacon, watchPage } from "./lib.mjs";

const [beaconPort, maildir, shots, trackers, control] = process.argv.slice(2);
if (!beaconPort || !maildir || !shots || !trackers || !control) {
  console.error("usage: node tickets.mjs <beacon port> <maildir> <screenshot dir> <trackers url> <control url>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("tickets-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const PASSWORD = "correct horse battery";
const OWNER = "owner@tickets.test";
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const report = { steps: [], a11y: {} };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e tickets: ${name}`);
};

const fake = async () => (await fetch(`${control}/_state`)).json();

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
try {
  // bypassCSP lets axe-core be injected for the audits.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  watchPage(page, problems);

  step("sign up, create an organization and a project");
  await joinBeacon(page, { maildir, email: OWNER, password: PASSWORD, signupUrl: `${beacon}/signup` });
  const { org, project } = await createOrgAndProject(page, "Ticketing Inc");

  step("add a Jira connector and send it a test");
  await page.getByRole("link", { name: "Channels" }).click();
  await page.getByRole("heading", { name: "Notification channels" }).waitFor();
  await page.getByLabel("Kind").selectOption("jira");
  await page.getByLabel("Name").fill("Jira OPS");
  await page.getByLabel("Site URL").fill(`${trackers}/jira`);
  await page.getByLabel("Account e-mail").fill("ops@acme.test");
  await page.getByLabel("Project key").fill("ops");
  await page.getByLabel("Labels").fill("beacon, errors");
  await page.getByLabel("API token").fill("ATATT3xJiraSecretToken");
  await page.getByRole("button", { name: "Add channel" }).click();
  const jira = page.getByRole("article", { name: "Jira OPS" });
  await jira.getByText("Tickets in project OPS (Bug)").waitFor();
  report.tokenShown = (await page.locator("body").textContent()).includes("ATATT3xJiraSecretToken");
  await jira.getByRole("button", { name: "Send test" }).click();
  await eventuallyDelivered(page, "Jira OPS", 120);
  await auditA11y(page, axePath, report.a11y, "channels");
  await page.screenshot({ path: join(shots, "tickets-channels.png"), fullPage: true });

  const keys = await (
    await fetch(`http://127.0.0.1:${beaconPort}/api/v1/orgs/${org}/projects/${project}`, {
      headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ") },
    })
  ).json();
  const sendError = async (type, value) =>
    (
      await fetch(`http://127.0.0.1:${beaconPort}/api/${keys.ingest_id}/store/?sentry_key=${keys.ingest_key}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          event_id: crypto.randomUUID().replaceAll("-", ""),
          platform: "javascript",
          level: "error",
          exception: { values: [{ type, value }] },
        }),
      })
    ).status;

  step("an error arrives; from its page they ask for a ticket, and the card shows it when made");
  report.eventStatus = await sendError("RangeError", "basket is empty");
  await page.goto(`${beacon}/orgs/${org}/projects/${project}/errors`);
  await page.getByRole("link", { name: /RangeError: basket is empty/ }).click();
  await page.getByRole("button", { name: "Create ticket in Jira OPS" }).click();
  // No reload: the card looks again by itself while the ticket is being made.
  await page.getByRole("link", { name: "OPS-1" }).waitFor({ timeout: 60_000 });
  report.buttonTicketHref = await page.getByRole("link", { name: "OPS-1" }).getAttribute("href");

  step("choose the connector for new and regressed error issues");
  await page.goto(`${beacon}/orgs/${org}/projects/${project}/alerts`);
  const notices = page.getByRole("form", { name: "Error issue notifications" });
  await notices.getByLabel(/Jira OPS/).check();
  await notices.getByRole("button", { name: "Save" }).click();
  await notices.getByText("Saved.").waitFor();

  step("another error arrives; the worker makes its ticket; the issue links to it");
  report.secondEventStatus = await sendError("TypeError", "cart is undefined");
  await page.goto(`${beacon}/orgs/${org}/projects/${project}/errors`);
  await page.getByRole("link", { name: /TypeError: cart is undefined/ }).click();
  await eventually(page, async () => (await page.getByRole("link", { name: "OPS-2" }).count()) > 0, "the ticket", 120);
  report.ticketHref = await page.getByRole("link", { name: "OPS-2" }).getAttribute("href");
  const made = (await fake()).tickets["jira:OPS-2"];
  report.ticketSummary = made?.fields?.summary;
  report.ticketLabels = made?.fields?.labels;
  await auditA11y(page, axePath, report.a11y, "issue");
  await page.screenshot({ path: join(shots, "tickets-issue.png"), fullPage: true });

  step("resolve it; the ticket gets a comment");
  await page.getByRole("button", { name: "Resolve", exact: true }).click();
  await page.getByTestId("issue-status").getByText("resolved").waitFor();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    report.comments = (await fake()).tickets["jira:OPS-2"]?.comments?.length ?? 0;
    if (report.comments > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  report.fakeProblems = (await fake()).received.map((r) => r.problem).filter(Boolean);
} catch (error) {
  problems.push(`journey failed: ${error.stack ?? error}`);
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
