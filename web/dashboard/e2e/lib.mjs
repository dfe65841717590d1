// What the browser journeys share: reading links out of e-mails in a real SMTP server's
// maildir, joining Beacon (sign up, verify by e-mail, sign in) as a new user would, collecting
// a page's errors, running axe-core in both themes, and waiting for the worker.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Every message in `maildir` so far, as stored. */
export function rawMessages(maildir) {
  const out = [];
  for (const sub of ["new", "cur"]) {
    let names = [];
    try {
      names = readdirSync(join(maildir, sub));
    } catch {
      continue;
    }
    for (const name of names) out.push(readFileSync(join(maildir, sub, name), "utf8"));
  }
  return out;
}

/** `text` with quoted-printable undone, read as UTF-8. */
export function decodeQuotedPrintable(text) {
  const bytes = [];
  const joined = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Every message in `maildir` so far, quoted-printable undone. */
function messages(maildir) {
  return rawMessages(maildir).map(decodeQuotedPrintable);
}

/** The first e-mail to `to` for which `pick` answers something, and that answer, once it has arrived (60 s). */
export async function awaitMail(maildir, to, pick, what) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for (const message of messages(maildir)) {
      if (!message.includes(`To: ${to}`)) continue;
      const picked = pick(message);
      if (picked) return picked;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no e-mail to ${to} with ${what} within 60 s`);
}

/** The first link in an e-mail to `to` in `maildir` whose URL contains `path`, once it has arrived. */
export async function linkFromMail(maildir, to, path) {
  const pattern = new RegExp(`https?://[^\\s"<>]*${path}\\?token=[A-Za-z0-9._-]+`);
  return awaitMail(maildir, to, (message) => message.match(pattern)?.[0], `a ${path} link`);
}

/**
 * Signs up at `signupUrl` (or, from an invitation page `startUrl`, through its "Create an
 * account" link), verifies by e-mail and signs in; ends signed in.
 */
export async function joinBeacon(page, { maildir, email, password, signupUrl, startUrl }) {
  await page.goto(startUrl ?? signupUrl);
  if (startUrl) await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByText("Check your inbox").waitFor();
  await page.goto(await linkFromMail(maildir, email, "/verify-email"));
  await page.getByText("Your address is verified.").waitFor();
  await page.getByRole("link", { name: "Sign in" }).click();
  await submitSignIn(page, email, password);
}

/** Fills and sends the sign-in form the page shows, and waits until it has left `/login`. */
export async function submitSignIn(page, email, password) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname !== "/login");
}

/**
 * Collects the page's uncaught errors and console errors in `problems`, but the answers the
 * page expects (401/403/404; a journey that provokes another, such as a 409, names it).
 */
export function watchPage(page, problems, expected = /status of 40[134]/) {
  page.on("pageerror", (error) => problems.push(`uncaught ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !expected.test(message.text())) problems.push(message.text());
  });
}

/** Runs axe-core (WCAG 2.1 A and AA) on the page in light and dark; violations go in `results[name-scheme]`. */
export async function auditA11y(page, axePath, results, name) {
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.addScriptTag({ path: axePath });
    results[`${name}-${scheme}`] = await page.evaluate(async () => {
      const result = await window.axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      });
      return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

/** Waits until `check` holds, reloading the page between tries (the worker runs on its own). */
export async function eventually(page, check, what, seconds = 150) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await page.reload({ waitUntil: "networkidle" });
  }
  const shown = (await page.locator("main").textContent()) ?? "";
  throw new Error(`${what} did not happen within ${seconds} s; the page said: ${shown.slice(0, 600)}`);
}

/**
 * After signing up: creates the organization `orgName` and a project "Shop" on shop.example in
 * UTC, waits for its setup page, and answers their ids.
 */
export async function createOrgAndProject(page, orgName) {
  await page.getByLabel("Organization name").fill(orgName);
  await page.getByRole("button", { name: "Create organization" }).click();
  await page.getByLabel("Project name").fill("Shop");
  await page.getByLabel("Domain").fill("shop.example");
  await page.getByLabel("Time zone").fill("UTC");
  await page.getByRole("button", { name: "Create project" }).click();
  await page.getByText("Waiting for the first event").waitFor();
  const [, , org, , project] = new URL(page.url()).pathname.split("/");
  return { org, project };
}

/** On the Channels page: waits until the channel `name`'s delivery log shows a delivered message. */
export async function eventuallyDelivered(page, name, seconds) {
  await eventually(
    page,
    async () => {
      const article = page.getByRole("article", { name });
      if (!(await article.getByRole("table").count()))
        await article.getByRole("button", { name: "Deliveries" }).click();
      return (await article.getByRole("cell", { name: "delivered" }).count()) > 0;
    },
    "the test delivery",
    seconds,
  );
}
