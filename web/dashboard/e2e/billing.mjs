// Buying a plan, end to end in headless Chromium (Debian's, through playwright-core), against a
// real `beacon serve` configured with a fake Stripe (api/tests/fakes/stripe.py) and a real SMTP
// server. Called by the Rust test `billing::choosing_a_plan_and_paying_in_chromium` with
// Beacon's port, the maildir, a screenshot directory and the fake Stripe's port; prints a JSON
// report the Rust test checks.
//
// 1. a visitor signs up from a chosen plan (`/signup?plan=team`), verifies by e-mail, signs in
//    and creates an organization, which takes them to the Billing page with that plan offered;
// 2. they continue to (fake) Stripe Checkout, see the 14-day trial, pay, and come back to the
//    app, where the plan, its limits and the trial show;
// 3. a viewer of the organization sees the plan in banners but no billing link or control.

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { joinBeacon, linkFromMail } from "./lib.mjs";

const [beaconPort, maildir, shots, stripePort] = process.argv.slice(2);
if (!beaconPort || !maildir || !shots || !stripePort) {
  console.error("usage: node billing.mjs <beacon port> <maildir> <screenshot dir> <fake stripe port>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("billing-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const PASSWORD = "correct horse battery";
const OWNER = "owner@buyer.example";
const VIEWER = "viewer@buyer.example";
const report = { steps: [] };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e billing: ${name}`);
};

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
const watch = (page, who) => {
  page.on("pageerror", (error) => problems.push(`${who}: uncaught ${error.message}`));
  page.on("console", (message) => {
    const text = message.text();
    const url = message.location().url ?? "";
    // The session probe before signing in answers 401 by design; the fake Stripe's pages have
    // no favicon.
    const expected = text.includes("status of 401") || url.endsWith("/favicon.ico");
    if (message.type() === "error" && !expected) problems.push(`${who}: ${text} (${url})`);
  });
};

let page;
try {
  const context = await browser.newContext();
  page = await context.newPage();
  watch(page, "owner");
  step("sign up from the Team plan");
  await joinBeacon(page, {
    maildir,
    email: OWNER,
    password: PASSWORD,
    signupUrl: `${beacon}/signup?plan=team`,
  });
  await page.getByLabel("Organization name").fill("Buyer Inc");
  await page.getByRole("button", { name: "Create organization" }).click();
  await page.waitForURL((url) => url.pathname.endsWith("/billing"));
  report.offered = await page.getByRole("button", { name: "Continue with Team" }).textContent();
  report.freeUsage = await page.getByRole("progressbar", { name: "Pageviews and custom events used" }).count();
  await page.screenshot({ path: join(shots, "billing-free.png"), fullPage: true });

  step("pay in (fake) Stripe Checkout");
  await page.getByRole("button", { name: "Continue with Team" }).click();
  await page.waitForURL((url) => url.port === stripePort && url.pathname.startsWith("/checkout/"));
  report.checkoutPrice = await page.locator("#price").textContent();
  report.checkoutTrial = await page.locator("#trial").textContent();
  await page.getByRole("button", { name: "Pay" }).click();
  await page.waitForURL((url) => url.hostname === "beacon.test" && url.search.includes("checkout=success"));
  await page.getByText("Thank you: Team is active.").waitFor({ timeout: 20_000 });
  report.currentPlan = await page.getByRole("region", { name: "Team" }).getByText("Current plan").count();
  report.trialBanner = await page.getByText(/Your Team trial ends on/).count();
  report.status = await page.locator(".plan-summary .badge").textContent();
  report.manage = await page.getByRole("button", { name: "Manage subscription" }).count();
  await page.getByRole("cell", { name: /FAKE-/ }).first().waitFor();
  report.invoices = await page.getByRole("cell", { name: /FAKE-/ }).count();
  report.billingLink = await page.getByRole("link", { name: "Billing" }).count();
  await page.screenshot({ path: join(shots, "billing-team.png"), fullPage: true });

  step("invite a viewer");
  await page.getByRole("link", { name: "Members" }).click();
  await page.getByLabel("Email to invite").fill(VIEWER);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await page.getByText(`${VIEWER}`).first().waitFor();
  const invitation = await linkFromMail(maildir, VIEWER, "/invitations/accept");
  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  watch(viewer, "viewer");
  await joinBeacon(viewer, { maildir, email: VIEWER, password: PASSWORD, startUrl: invitation });
  await viewer.getByRole("button", { name: "Accept invitation" }).click();
  await viewer.getByRole("heading", { name: "Buyer Inc" }).waitFor();
  await viewer.getByText(/Your Team trial ends on/).waitFor();
  report.viewerBillingLink = await viewer.getByRole("link", { name: "Billing" }).count();
  const org = new URL(viewer.url()).pathname.split("/")[2];
  await viewer.goto(`${beacon}/orgs/${org}/billing`);
  await viewer.getByRole("heading", { name: "Usage", exact: false }).waitFor();
  report.viewerPlanCards = await viewer.getByRole("button", { name: /Choose|Continue with/ }).count();
  report.viewerManage = await viewer.getByRole("button", { name: "Manage subscription" }).count();
  report.viewerInvoices = await viewer.getByRole("heading", { name: "Invoices" }).count();
  // Positive control: the owner, on the same page, has those controls.
  await page.goto(`${beacon}/orgs/${org}/billing`);
  await page.getByRole("heading", { name: "Invoices" }).waitFor();
  report.ownerPlanCards = await page.getByRole("button", { name: /Choose|Continue with/ }).count();
  await viewer.screenshot({ path: join(shots, "billing-viewer.png"), fullPage: true });
} catch (error) {
  problems.push(`failed at "${report.steps.at(-1)}": ${error.message}`);
  await page?.screenshot({ path: join(shots, "billing-failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
process.exit(problems.length ? 1 : 0);
