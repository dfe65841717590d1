// Mentions, the inbox, the notification e-mail and the task board in headless Chromium
// (Debian's, through playwright-core) against the test's Beacon
// (`tasks::mention_inbox_email_and_task_board_in_chromium`). Arguments: Beacon's port, the SMTP
// server's maildir, a screenshot directory, the owner's e-mail, the member's e-mail, the
// password (both), the organization's id, the project's id and the error issue's id. Prints a
// JSON report the Rust test checks.
//
// 1. the owner comments on the issue, mentioning the member through the autocompletion;
// 2. the owner makes a task from the issue, assigned to the member and overdue;
// 3. the member sees the unread count, the mention and the assignment in the inbox, and the
//    mention arrives by e-mail in the real SMTP server; marks all read;
// 4. the member drags the task to Done on the board: the issue is resolved; the order survives
//    a reload; axe-core finds nothing on the inbox and the board, both themes, desktop and phone.

import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { auditA11y, awaitMail, submitSignIn, watchPage } from "./lib.mjs";

const [beaconPort, maildir, shots, ownerEmail, memberEmail, password, orgId, projectId, issueId] =
  process.argv.slice(2);
if (!beaconPort || !maildir || !shots || !ownerEmail || !memberEmail || !password || !orgId || !projectId || !issueId) {
  console.error(
    "usage: node teamwork.mjs <port> <maildir> <shots> <owner> <member> <password> <org> <project> <issue>",
  );
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("teamwork-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const projectPath = `/orgs/${orgId}/projects/${projectId}`;
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const report = { steps: [], a11y: {} };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e teamwork: ${name}`);
};

async function signIn(browser, email) {
  // CSP bypassed so axe-core can be injected.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  watchPage(page, problems);
  await page.goto(`${beacon}/login`);
  await submitSignIn(page, email, password);
  return page;
}

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
try {
  const owner = await signIn(browser, ownerEmail);

  step("the owner mentions the member through the autocompletion");
  await owner.goto(`${beacon}${projectPath}/errors/${issueId}`);
  const box = owner.getByRole("combobox", { name: "Comment (Markdown)" });
  await box.click();
  await box.pressSequentially(`Can you look, @${memberEmail.slice(0, 3)}`);
  const option = owner.getByRole("option", { name: `@${memberEmail}` });
  await option.waitFor();
  report.suggested = await owner.getByRole("listbox", { name: "Members to mention" }).innerText();
  await owner.screenshot({ path: join(shots, "teamwork-mention.png") });
  await box.press("Enter");
  await box.pressSequentially("please?");
  report.commentBox = await box.inputValue();
  await owner.getByRole("button", { name: "Comment", exact: true }).click();
  await owner.locator(".comment").filter({ hasText: "please?" }).waitFor();

  step("the owner makes an overdue task from the issue, assigned to the member");
  await owner.getByRole("button", { name: "Create task from issue" }).click();
  const form = owner.getByRole("form", { name: "Create task" });
  await form.getByLabel("Assignee").selectOption({ label: memberEmail });
  await form.getByLabel("Due").fill("2020-01-31");
  await form.getByLabel("Labels").fill("checkout, urgent");
  await form.getByLabel("Priority").selectOption("high");
  await form.getByRole("button", { name: "Create task" }).click();
  await owner.getByText("is in To do").waitFor();
  report.issueTask = await owner.locator("section.card").filter({ hasText: "is in To do" }).innerText();

  step("the member's inbox holds the mention and the assignment");
  const member = await signIn(browser, memberEmail);
  await member.goto(`${beacon}/orgs/${orgId}`);
  const badge = member.locator(".inbox-link .badge");
  await badge.waitFor();
  report.badge = (await badge.textContent())?.trim();
  await member.getByRole("link", { name: /^Inbox/ }).click();
  await member.locator("ol.inbox li").first().waitFor();
  report.inbox = await member.locator("ol.inbox li").allInnerTexts();
  await member.screenshot({ path: join(shots, "teamwork-inbox.png"), fullPage: true });
  await auditA11y(member, axePath, report.a11y, "inbox");

  step("the mention arrives by e-mail");
  report.mail = await awaitMail(
    maildir,
    memberEmail,
    (message) => (message.includes("mentioned you") && message.includes("please?") ? message : null),
    "the mention",
  );
  await member.getByRole("button", { name: "Mark all read" }).click();
  await member.locator(".inbox-link .badge").waitFor({ state: "detached" });
  // The badge and the list reload separately: give the list its reload before counting (the
  // count is still reported, and checked, if it never empties).
  await member
    .waitForFunction(() => !document.querySelector("ol.inbox li.unread"), undefined, { timeout: 10_000 })
    .catch(() => {});
  report.unreadAfter = await member.locator("ol.inbox li.unread").count();

  step("the member drags the task to Done: the issue is resolved");
  await member.goto(`${beacon}${projectPath}/tasks`);
  const taskCard = member.locator(".task-card").first();
  await taskCard.waitFor();
  report.overdueBefore = await taskCard.evaluate((el) => el.classList.contains("overdue"));
  await auditA11y(member, axePath, report.a11y, "board");
  await member.screenshot({ path: join(shots, "teamwork-board.png"), fullPage: true });
  // An HTML5 drag is a sequence of mouse events; on a loaded machine Chromium can miss the
  // dragstart, so the drag is tried again (up to three times) until the card is in Done.
  const doneList = member.locator("section.task-column.column-done ol.task-list");
  const doneCard = member.locator("section.column-done .task-card");
  for (let attempt = 1; ; attempt++) {
    await taskCard.dragTo(doneList);
    try {
      await doneCard.waitFor({ timeout: 10_000 });
      break;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
  await member.reload();
  await member.locator("section.column-done .task-card").waitFor();
  report.doneAfterReload = await member.locator("section.column-done .task-card .task-title").allInnerTexts();
  report.overdueInDone = await member
    .locator("section.column-done .task-card")
    .first()
    .evaluate((el) => el.classList.contains("overdue"));
  await member.goto(`${beacon}${projectPath}/errors/${issueId}`);
  report.issueStatus = await member.getByTestId("issue-status").innerText();

  step("the board on a phone");
  await member.setViewportSize({ width: 390, height: 844 });
  await member.goto(`${beacon}${projectPath}/tasks`);
  await member.locator(".task-card").first().waitFor();
  await member.screenshot({ path: join(shots, "teamwork-board-phone.png"), fullPage: true });
  await auditA11y(member, axePath, report.a11y, "board-phone");
} finally {
  await browser.close();
}
report.problems = problems;
console.log(JSON.stringify(report));
