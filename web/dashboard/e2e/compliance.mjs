// The compliance screens, end to end in headless Chromium (Debian's, through playwright-core),
// against a real `beacon serve` (its own PostgreSQL, its in-process workers) and a real SMTP
// server. Called by the Rust test `audit::the_audit_log_export_and_erasure_in_chromium` with
// Beacon's port, the maildir and a screenshot directory; prints a JSON report it checks.
//
// 1. a new owner signs up, creates an organization and renames it;
// 2. the Audit log page lists those changes with the diff, and verifies the chain intact;
// 3. Settings: a domain is claimed (its TXT record shown); a data export is asked for, its link
//    arrives by e-mail and downloads the archive;
// 4. the organization's erasure is asked for (the name typed), every page shows the banner,
//    and cancelling it removes the banner; both show in the audit log.

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { joinBeacon, linkFromMail } from "./lib.mjs";

const [beaconPort, maildir, shots] = process.argv.slice(2);
if (!beaconPort || !maildir || !shots) {
  console.error("usage: node compliance.mjs <beacon port> <maildir> <screenshot dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("compliance-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const PASSWORD = "correct horse battery";
const OWNER = "owner@compliance.example";
const report = { steps: [] };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e compliance: ${name}`);
};

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
let page;
try {
  const context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`uncaught ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().includes("status of 401")) problems.push(message.text());
  });

  step("sign up and create an organization");
  await joinBeacon(page, { maildir, email: OWNER, password: PASSWORD, signupUrl: `${beacon}/signup` });
  await page.getByLabel("Organization name").fill("Compliance Co");
  await page.getByRole("button", { name: "Create organization" }).click();
  await page.waitForURL((url) => /^\/orgs\/[0-9a-f-]+/.test(url.pathname));
  const org = new URL(page.url()).pathname.split("/")[2];
  // A change to find in the log: the organization renamed through the API, as the owner.
  const csrf = await page.evaluate(async () => (await (await fetch("/api/v1/auth/session")).json()).csrf_token);
  const renamed = await page.evaluate(
    async ([org, csrf]) =>
      (
        await fetch(`/api/v1/orgs/${org}`, {
          method: "PATCH",
          headers: { "content-type": "application/json", "x-csrf-token": csrf },
          body: JSON.stringify({ name: "Compliance Inc" }),
        })
      ).status,
    [org, csrf],
  );
  report.renamed = renamed;

  step("read the audit log");
  await page.goto(`${beacon}/orgs/${org}`);
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
  const renameRow = page.locator(".audit-row", { hasText: "organization.renamed" });
  await renameRow.waitFor();
  // The actor's e-mail comes from the members list, which may arrive after the rows.
  await renameRow
    .getByText(OWNER)
    .waitFor({ timeout: 10_000 })
    .catch(() => {});
  report.ownerShown = await renameRow.getByText(OWNER).count();
  await renameRow.locator("summary").click();
  report.diffBefore = await renameRow.getByRole("cell", { name: '"Compliance Co"' }).count();
  report.diffAfter = await renameRow.getByRole("cell", { name: '"Compliance Inc"' }).count();
  report.created = await page.locator(".audit-row", { hasText: "organization.created" }).count();
  await page.getByRole("button", { name: "Verify the chain" }).click();
  report.verified = await page.getByText(/^Intact: \d+ records checked/).textContent();
  await page.getByLabel("Action").fill("organization.created");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.locator(".audit-row", { hasText: "organization.renamed" }).waitFor({ state: "detached" });
  report.filtered = await page.locator(".audit-row").count();
  await page.getByRole("button", { name: "Clear" }).click();
  await renameRow.waitFor();
  await page.screenshot({ path: join(shots, "compliance-audit-log.png"), fullPage: true });

  step("claim a domain");
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("heading", { name: "Organization settings" }).waitFor();
  await page.getByLabel("Domain", { exact: true }).fill("Compliance.Example");
  await page.getByRole("button", { name: "Add domain" }).click();
  report.txtValue = await page.getByTestId("txt-value").textContent();
  report.domainListed = await page
    .getByRole("list", { name: "Domains" })
    .getByText("compliance.example", { exact: true })
    .count();

  step("export the organization's data");
  await page.getByRole("button", { name: "Export all data" }).click();
  await page.getByText(/being written|ready: the link is in your inbox/).waitFor();
  const link = await linkFromMail(maildir, OWNER, "/api/v1/exports/download");
  const download = await page.evaluate(
    async (link) => {
      const response = await fetch(link);
      const bytes = new Uint8Array(await response.arrayBuffer());
      return {
        status: response.status,
        type: response.headers.get("content-type"),
        gzip: bytes[0] === 0x1f && bytes[1] === 0x8b,
      };
    },
    link.replace(/^https?:\/\/[^/]+/, ""),
  );
  report.download = download;
  await page.reload();
  await page.getByText("ready: the link is in your inbox").waitFor();

  step("ask for the erasure, then cancel it");
  await page.getByLabel(/Type the organization's name/).fill("Compliance Inc");
  await page.getByRole("button", { name: "Erase in seven days" }).click();
  await page.getByRole("heading", { name: "Erasure scheduled" }).waitFor();
  report.banner = await page.getByText(/This organization will be erased on/).count();
  await page.screenshot({ path: join(shots, "compliance-settings.png"), fullPage: true });
  await page.getByRole("link", { name: "Projects" }).click();
  report.bannerElsewhere = await page.getByText(/This organization will be erased on/).count();
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("button", { name: "Cancel the erasure" }).click();
  await page.getByRole("heading", { name: "Erase the organization" }).waitFor();
  report.bannerAfterCancel = await page.getByText(/This organization will be erased on/).count();
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.locator(".audit-row", { hasText: "organization.erasure_cancelled" }).waitFor();
  report.erasureRecords = await page.locator(".audit-row", { hasText: /organization\.erasure_/ }).count();
  report.exportRecords = await page.locator(".audit-row", { hasText: /organization\.export_/ }).count();
} catch (error) {
  problems.push(`failed at "${report.steps.at(-1)}": ${error.message}`);
  await page?.screenshot({ path: join(shots, "compliance-failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
process.exit(problems.length ? 1 : 0);
