// E-mail reports in headless Chromium (Debian's, through playwright-core) against the test's
// Beacon, whose clock and report loop the Rust test drives (`reports::the_reports_card_and_the_
// unsubscribe_page_in_chromium`). Arguments: Beacon's port, the maildir of the real SMTP
// server, a screenshot directory, the owner's e-mail and password, the project's settings path,
// and the token of a weekly report the worker already mailed to board@example.com. Prints a JSON
// report the Rust test checks.
//
// 1. the owner signs in and opens the project's settings: the "E-mail reports" card lists the
//    address the report went to, with when it was sent;
// 2. they subscribe themselves to the monthly report and add an address;
// 3. "Send me a preview now": the preview arrives in the real SMTP server;
// 4. on the dashboard, the breakdowns ZIP, one panel's every row as CSV and the PDF download;
//    for the last 12 months, "Prepare PDF" shows the worker's progress, then downloads;
// 5. axe-core finds nothing on the settings page, light and dark;
// 6. signed out, the report's unsubscribe link opens a page whose one button stops that
//    subscription; a tampered link says it is not valid.

import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { auditA11y, awaitMail, decodeQuotedPrintable, rawMessages, submitSignIn, watchPage } from "./lib.mjs";

const [beaconPort, maildir, shots, email, password, settingsPath, token] = process.argv.slice(2);
if (!beaconPort || !maildir || !shots || !email || !password || !settingsPath || !token) {
  console.error("usage: node reports.mjs <port> <maildir> <shots> <email> <password> <settings path> <token>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("reports-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const report = { steps: [], a11y: {} };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e reports: ${name}`);
};

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
try {
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  watchPage(page, problems);

  step("sign in and open the project's settings");
  await page.goto(`${beacon}/login`);
  await submitSignIn(page, email, password);
  await page.goto(`${beacon}${settingsPath}`);
  const card = page.locator("section.card", { has: page.getByRole("heading", { name: "E-mail reports" }) });
  const table = card.getByRole("table", { name: "Report subscriptions" });
  await table.waitFor();
  report.firstRows = await table.locator("tbody tr").allInnerTexts();

  step("subscribe to the monthly report and add an address");
  await card.getByLabel("Report", { exact: true }).selectOption("monthly");
  await card.getByRole("button", { name: "Subscribe me" }).click();
  await card.getByText("You receive the monthly report.").waitFor();
  await card.getByLabel(/Another address/).fill("cfo@example.com");
  await card.getByRole("button", { name: "Add address" }).click();
  await card.getByText("cfo@example.com receives the monthly report.").waitFor();
  // The list reloads after the answer: wait for both new rows before reading it.
  await table.getByRole("cell", { name: "cfo@example.com", exact: true }).waitFor();
  await table.getByRole("cell", { name: `${email} (you)`, exact: true }).waitFor();
  report.rows = await table.locator("tbody tr").allInnerTexts();

  step("send a preview to myself");
  await card.getByRole("button", { name: "Send me a preview now" }).click();
  await card.getByText(/preview of the monthly report is on its way/).waitFor();
  report.previewArrived = await awaitMail(
    maildir,
    email,
    (message) => message.includes("PREVIEW sent at your request"),
    "the preview",
  );

  step("download the breakdowns ZIP and every row of one panel as CSV");
  await page.goto(`${beacon}${settingsPath.replace(/\/settings$/, "")}`);
  const [zip] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download all breakdowns (ZIP)" }).click(),
  ]);
  report.zipName = zip.suggestedFilename();
  report.zipBytes = statSync(await zip.path()).size;
  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download every row of page as CSV" }).click(),
  ]);
  report.csvName = csv.suggestedFilename();
  report.csv = readFileSync(await csv.path(), "utf8");
  const [pdf] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download PDF" }).click(),
  ]);
  report.pdfName = pdf.suggestedFilename();
  report.pdfStart = readFileSync(await pdf.path())
    .subarray(0, 5)
    .toString("latin1");

  step("a long period's PDF is prepared in the background, with its progress");
  await page.getByLabel("Date range").selectOption("12mo");
  await page.getByRole("button", { name: "Prepare PDF" }).click();
  report.pdfProgress = await page.locator(".pdf-job label").first().innerText();
  const [longPdf] = await Promise.all([
    page.waitForEvent("download", { timeout: 60_000 }),
    (async () => {
      const link = page.getByRole("link", { name: "Download PDF" });
      await link.waitFor({ timeout: 60_000 });
      await link.click();
    })(),
  ]);
  report.longPdfName = longPdf.suggestedFilename();
  report.longPdfStart = readFileSync(await longPdf.path())
    .subarray(0, 5)
    .toString("latin1");
  await page.goto(`${beacon}${settingsPath}`);
  await table.waitFor();

  step("audit the settings page");
  await auditA11y(page, axePath, report.a11y, "settings");
  await page.screenshot({ path: join(shots, "reports-settings.png"), fullPage: true });

  step("look at the weekly report e-mail as a mail client shows it");
  await awaitMail(maildir, "board@example.com", (m) => m.includes("weekly report"), "the report");
  const raw = rawMessages(maildir).find((m) => m.includes("To: board@example.com"));
  // The HTML part (quoted-printable) and the chart part (base64), as a mail client reads them.
  const htmlPart = raw.slice(raw.indexOf("Content-Type: text/html"));
  const html = decodeQuotedPrintable(htmlPart.slice(htmlPart.search(/\r?\n\r?\n/)).split(/\r?\n--/)[0]);
  const chartPart = raw.slice(raw.indexOf("Content-ID: <visitors-chart>"));
  const png = chartPart
    .slice(chartPart.search(/\r?\n\r?\n/))
    .split(/\r?\n--/)[0]
    .replace(/\s/g, "");
  const mailView = await (await browser.newContext()).newPage();
  await mailView.setContent(html.replace("cid:visitors-chart", `data:image/png;base64,${png}`));
  report.chartShown = await mailView.locator("img").evaluate((img) => img.complete && img.naturalWidth > 0);
  await mailView.screenshot({ path: join(shots, "reports-email.png"), fullPage: true });

  step("unsubscribe from the e-mail's link, signed out");
  const visitor = await (await browser.newContext({ bypassCSP: true })).newPage();
  watchPage(visitor, problems);
  await visitor.goto(`${beacon}/unsubscribe?token=${token}`);
  report.changedBeforeClick = (await visitor.getByRole("status").count()) > 0;
  await visitor.getByRole("button", { name: "Unsubscribe" }).click();
  report.unsubscribed = await visitor.getByRole("status").textContent();
  await auditA11y(visitor, axePath, report.a11y, "unsubscribe");
  await visitor.screenshot({ path: join(shots, "reports-unsubscribed.png"), fullPage: true });
  // (Not watched: the refusal is a 400 the console reports.)
  const tampered = await (await browser.newContext()).newPage();
  await tampered.goto(`${beacon}/unsubscribe?token=${token.slice(0, -4)}AAAA`);
  await tampered.getByRole("button", { name: "Unsubscribe" }).click();
  report.tampered = await tampered.getByRole("alert").textContent();

  step("the card no longer lists the address");
  await page.reload();
  await table.waitFor();
  report.rowsAfter = await table.locator("tbody tr").allInnerTexts();
} catch (error) {
  problems.push(`journey failed: ${error.stack ?? error}`);
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
