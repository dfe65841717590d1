// Alerts end to end in headless Chromium (Debian's, through playwright-core) against a real
// `beacon serve` with its in-process workers, the test's fake Slack (tests/fakes/
// chat_receivers.py) and a real SMTP server. Called by the Rust test
// `alerts::the_alerts_journey_in_chromium` with Beacon's port, the maildir, a screenshot
// directory and the fake receivers' base URL; prints a JSON report it checks.
//
// 1. an owner signs up, creates an organization and a project;
// 2. on Channels they add a Slack channel and an e-mail channel, send a test to Slack and see
//    it delivered in the channel's log (the worker sent it; the fake accepted its format);
// 3. on the project's Alerts tab they write a rule ("Pageviews above 0 in the last hour",
//    notify Slack and e-mail), preview it — the chart shows the threshold — and create it;
// 4. a pageview arrives; the worker evaluates the rule (every minute) and it fires: the alert's page shows
//    "firing" and its history, Slack and the mailbox got the notification;
// 5. they mute it for an hour; axe-core finds nothing on either screen, light and dark.

import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { auditA11y, createOrgAndProject, eventually, eventuallyDelivered, joinBeacon, watchPage } from "./lib.mjs";

const [beaconPort, maildir, shots, hooks, control] = process.argv.slice(2);
if (!beaconPort || !maildir || !shots || !hooks || !control) {
  console.error("usage: node alerts.mjs <beacon port> <maildir> <screenshot dir> <receivers url> <control url>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("alerts-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const PASSWORD = "correct horse battery";
const OWNER = "owner@alerts.test";
const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const report = { steps: [], a11y: {} };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e alerts: ${name}`);
};

const mailTo = (to, needle) => {
  for (const sub of ["new", "cur"]) {
    let names = [];
    try {
      names = readdirSync(join(maildir, sub));
    } catch {
      continue;
    }
    for (const name of names) {
      const raw = readFileSync(join(maildir, sub, name), "utf8").replace(/=\r?\n/g, "");
      if (raw.includes(`To: ${to}`) && raw.includes(needle)) return true;
    }
  }
  return false;
};

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
  const { org, project } = await createOrgAndProject(page, "Alerting Inc");

  step("add a Slack and an e-mail channel, send a test to Slack");
  await page.getByRole("link", { name: "Channels" }).click();
  await page.getByRole("heading", { name: "Notification channels" }).waitFor();
  await page.getByLabel("Kind").selectOption("slack");
  await page.getByLabel("Name").fill("#ops");
  await page.getByLabel("URL").fill(`${hooks}/slack/T1/B2/journey`);
  await page.getByRole("button", { name: "Add channel" }).click();
  await page.getByRole("article", { name: "#ops" }).waitFor();
  await page.getByLabel("Kind").selectOption("email");
  await page.getByLabel("Name").fill("On call");
  await page.getByLabel("Addresses").fill(OWNER);
  await page.getByRole("button", { name: "Add channel" }).click();
  await page.getByRole("article", { name: "On call" }).waitFor();
  const ops = page.getByRole("article", { name: "#ops" });
  await ops.getByRole("button", { name: "Send test" }).click();
  await page.getByText("A test message to #ops is on its way").waitFor();
  await eventuallyDelivered(page, "#ops");
  report.testDelivered = true;
  await auditA11y(page, axePath, report.a11y, "channels");
  await page.screenshot({ path: join(shots, "alerts-channels.png"), fullPage: true });

  step("write a rule, preview it, create it");
  await page.goto(`${beacon}/orgs/${org}/projects/${project}/alerts`);
  await page.getByRole("button", { name: "New alert" }).click();
  await page.getByLabel("Name").fill("Any traffic");
  await page.getByLabel("Metric").selectOption("pageviews");
  await page.getByLabel("Window").selectOption("60");
  await page.getByLabel("Condition").selectOption("above");
  await page.getByLabel("Warning at").fill("0");
  await page.getByLabel("Evaluate every").selectOption("1");
  const form = page.getByRole("form", { name: "New alert" });
  await form.getByLabel(/#ops/).check();
  await form.getByLabel(/On call/).check();
  const previewed = page.waitForResponse((r) => r.url().endsWith("/alerts/preview"));
  await page.getByRole("button", { name: "Preview" }).click();
  report.previewStatus = (await previewed).status();
  await page.getByTestId("alert-preview").waitFor();
  report.previewText = await page.getByTestId("alert-preview").textContent();
  await auditA11y(page, axePath, report.a11y, "alert-form");
  await page.screenshot({ path: join(shots, "alerts-new.png"), fullPage: true });
  const created = page.waitForResponse((r) => r.url().endsWith("/alerts") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Create alert" }).click();
  report.createStatus = (await created).status();
  await page.getByRole("link", { name: "Any traffic" }).click();

  step("a pageview arrives; the rule fires");
  // From a visitor's browser (a headless user agent would be filtered out as a bot).
  const sent = (
    await fetch(`http://127.0.0.1:${beaconPort}/api/event`, {
      method: "POST",
      headers: { "content-type": "text/plain", "user-agent": UA },
      body: JSON.stringify({ n: "pageview", u: "https://shop.example/", d: "shop.example" }),
    })
  ).status;
  report.eventStatus = sent;
  await eventually(page, async () => (await page.getByText("firing (warning)").count()) > 0, "firing");
  report.historyRows = await page.getByRole("table").getByRole("row").count();
  const slack = await (await fetch(`${control}/_state`)).json();
  report.slackTexts = slack.received.filter((r) => r.service === "slack").map((r) => r.body?.text ?? "");
  report.slackProblems = slack.received.map((r) => r.problem).filter(Boolean);
  await eventually(page, async () => mailTo(OWNER, "Any traffic"), "the e-mail");
  report.mailed = true;

  step("mute it for an hour");
  await page.getByRole("button", { name: "Mute 1 hour" }).click();
  await page.getByText("Muted until").waitFor();
  await auditA11y(page, axePath, report.a11y, "alert");
  await page.screenshot({ path: join(shots, "alerts-alert.png"), fullPage: true });
} catch (error) {
  problems.push(`journey failed: ${error.stack ?? error}`);
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
