// SAML single sign-on end to end in headless Chromium (Debian's, through playwright-core)
// against a real `beacon serve`, a real SAML identity provider (pysaml2, started by the Rust
// test with its own sign-in page) and the test's DNS server. Called by the Rust test
// `saml::the_saml_journey_in_chromium` with Beacon's port, the maildir, a screenshot directory,
// the DNS server's records file and the IdP's URL; prints a JSON report it checks.
//
// 1. an owner signs up, creates an organization and verifies acme.test by its TXT record;
// 2. on the Single sign-on page they give the IdP Beacon's SP metadata (its URL is shown),
//    connect the IdP by its metadata URL, map a group to admin and test the connection: the
//    IdP's assertion is shown;
// 3. in another browser, ann@acme.test chooses "Continue with SSO" on the login page, signs in
//    at the IdP, which posts to Beacon's ACS, and lands in the organization as an admin,
//    created just in time;
// 4. with IdP-initiated sign-in turned on, the IdP's app tile posts an unsolicited response;
//    Beacon spends it and sends carol to start a sign-in of her own, which the IdP answers;
// 5. a response signed with a key Beacon did not pin comes back to the login page with the
//    reason, and signs no one in.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { joinBeacon } from "./lib.mjs";

const [beaconPort, maildir, shots, dnsRecords, idpUrl] = process.argv.slice(2);
if (!beaconPort || !maildir || !shots || !dnsRecords || !idpUrl) {
  console.error("usage: node saml.mjs <beacon port> <maildir> <screenshot dir> <dns records file> <idp url>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("saml-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const PASSWORD = "correct horse battery";
const OWNER = "owner@acme.test";
const report = { steps: [] };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e saml: ${name}`);
};

/** Tells the IdP what its next response says. */
async function next(scenario) {
  const r = await fetch(`${idpUrl}/_next`, { method: "POST", body: JSON.stringify(scenario) });
  if (!r.ok) throw new Error(`the IdP refused /_next: ${r.status}`);
}

/** Signs in at the IdP's page as `email`; it posts the response to Beacon's ACS. */
async function idpSignIn(page, email) {
  await page.waitForURL((url) => url.href.startsWith(idpUrl));
  await page.locator("#idp-email").fill(email);
  await page.locator("#idp-submit").click();
}

function watch(page) {
  page.on("pageerror", (error) => problems.push(`uncaught ${error.message}`));
  page.on("console", (message) => {
    const text = message.text();
    if (message.type() === "error" && page.url().startsWith(beacon) && !/status of 40[134]/.test(text))
      problems.push(text);
  });
}

const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP beacon.test 127.0.0.1"],
});
let page;
try {
  const context = await browser.newContext();
  page = await context.newPage();
  watch(page);

  step("sign up, create an organization and verify acme.test");
  await joinBeacon(page, { maildir, email: OWNER, password: PASSWORD, signupUrl: `${beacon}/signup` });
  await page.getByLabel("Organization name").fill("Acme SAML");
  await page.getByRole("button", { name: "Create organization" }).click();
  await page.waitForURL((url) => /^\/orgs\/[0-9a-f-]+/.test(url.pathname));
  const org = new URL(page.url()).pathname.split("/")[2];
  await page.goto(`${beacon}/orgs/${org}/settings`);
  await page.getByLabel("Domain").fill("acme.test");
  await page.getByRole("button", { name: "Add domain" }).click();
  const txt = (await page.getByTestId("txt-value").textContent()).trim();
  writeFileSync(dnsRecords, JSON.stringify({ "acme.test": [txt] }));
  await page.getByRole("button", { name: "Check now" }).click();
  await page.getByText("verified", { exact: true }).waitFor();

  step("give the IdP Beacon's SP metadata, connect the IdP, map a group, test the connection");
  await page.goto(`${beacon}/orgs/${org}/sso`);
  const metadataUrl = (await page.getByTestId("saml-metadata-url").textContent()).trim();
  report.metadataUrl = metadataUrl;
  const spMetadata = await page.evaluate(async (url) => (await fetch(url)).text(), metadataUrl);
  const known = await fetch(`${idpUrl}/_sp`, { method: "POST", body: spMetadata });
  if (!known.ok) throw new Error(`the IdP refused Beacon's metadata: ${known.status}`);
  await next({ interactive: true, groups: ["staff"] });
  await page.getByLabel("IdP metadata URL").fill(`${idpUrl}/metadata`);
  await page.getByLabel("E-mail attribute").fill("email");
  await page.getByLabel("Groups attribute").fill("groups");
  await page.getByRole("button", { name: "Save SAML connection" }).click();
  await page.getByRole("button", { name: "Test SAML connection" }).waitFor();
  report.pinned = await page.locator(".fingerprint").count();
  await page.getByRole("button", { name: "Add a group" }).click();
  await page.getByLabel("Group", { exact: true }).fill("staff");
  await page.getByLabel("Role", { exact: true }).selectOption("admin");
  const groupsSaved = page.waitForResponse((r) => r.url().endsWith("/sso/group-roles"));
  await page.getByRole("button", { name: "Save groups" }).click();
  report.groupsStatus = (await groupsSaved).status();
  await page.getByRole("button", { name: "Test SAML connection" }).click();
  await idpSignIn(page, OWNER);
  await page.getByText("The provider signed you in").waitFor();
  const outcome = JSON.parse(await page.getByTestId("sso-test-outcome").textContent());
  report.testEmail = outcome.email;
  report.testGroups = outcome.groups;
  await page.screenshot({ path: join(shots, "saml-settings.png"), fullPage: true });

  step("a new person signs in through SAML from the login page");
  const annContext = await browser.newContext();
  const ann = await annContext.newPage();
  watch(ann);
  await ann.goto(`${beacon}/login`);
  await ann.getByLabel("Email").fill("ann@acme.test");
  const started = ann.waitForResponse((r) => r.url().endsWith("/api/v1/auth/sso/start"));
  const clicked = Date.now();
  await ann.getByRole("button", { name: "Continue with SSO" }).click();
  const startResponse = await started;
  report.startStatus = startResponse.status();
  report.startMs = Date.now() - clicked;
  // Each step's time from its request leaving the browser to its answer arriving.
  const timed = (path) => {
    const sent = ann.waitForRequest((r) => r.url().includes(path)).then(() => Date.now());
    const answered = ann.waitForResponse((r) => r.url().includes(path)).then((r) => [r, Date.now()]);
    return Promise.all([sent, answered]).then(([at, [response, done]]) => [response, done - at]);
  };
  const acs = timed(`/api/v1/sso/saml/${org}/acs`);
  const finish = timed(`/api/v1/sso/saml/${org}/finish?`);
  await idpSignIn(ann, "ann@acme.test");
  const [acsResponse, acsMs] = await acs;
  report.acsStatus = acsResponse.status();
  report.acsMs = acsMs;
  const [finishResponse, finishMs] = await finish;
  report.finishStatus = finishResponse.status();
  report.finishMs = finishMs;
  await ann.waitForURL((url) => url.pathname === `/orgs/${org}`);
  await ann.getByRole("heading", { name: "Acme SAML" }).waitFor();
  report.annRole = await ann.evaluate(async (org) => {
    const members = await (await fetch(`/api/v1/orgs/${org}/members`)).json();
    return members.items.find((m) => m.email === "ann@acme.test")?.role;
  }, org);
  await ann.screenshot({ path: join(shots, "saml-signed-in.png"), fullPage: true });

  step("with IdP-initiated sign-in on, the IdP's app tile signs carol in through a fresh sign-in");
  await page.goto(`${beacon}/orgs/${org}/sso`);
  await page.getByLabel(/Accept IdP-initiated/).check();
  const resaved = page.waitForResponse((r) => r.url().endsWith("/sso/saml") && r.request().method() === "PUT");
  await page.getByRole("button", { name: "Save SAML connection" }).click();
  report.idpInitiatedSaved = (await resaved).status();
  const carolContext = await browser.newContext();
  const carol = await carolContext.newPage();
  watch(carol);
  const acsUrl = metadataUrl.replace(/\/metadata$/, "/acs");
  const tile = new URL(`${idpUrl}/launch`);
  tile.search = new URLSearchParams({ entity_id: metadataUrl, acs_url: acsUrl, email: "carol@acme.test" }).toString();
  await carol.goto(tile.href);
  // Beacon spends the unsolicited assertion and sends carol to start a sign-in at the IdP.
  await idpSignIn(carol, "carol@acme.test");
  await carol.waitForURL((url) => url.pathname === `/orgs/${org}`);
  report.carolRole = await carol.evaluate(async (org) => {
    const members = await (await fetch(`/api/v1/orgs/${org}/members`)).json();
    return members.items.find((m) => m.email === "carol@acme.test")?.role;
  }, org);

  step("a response signed with a key that is not pinned comes back to the login page");
  await next({ interactive: true, mode: "rogue_key" });
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  watch(bob);
  await bob.goto(`${beacon}/login`);
  await bob.getByLabel("Email").fill("bob@acme.test");
  await bob.getByRole("button", { name: "Continue with SSO" }).click();
  await idpSignIn(bob, "bob@acme.test");
  await bob.waitForURL((url) => url.pathname === "/login");
  report.failureType = new URL(bob.url()).searchParams.get("sso_error");
  report.failureShown = await bob.getByText(/Single sign-on failed:/).count();
  report.bobSession = await bob.evaluate(async () => (await fetch("/api/v1/auth/session")).status);
  await bob.screenshot({ path: join(shots, "saml-failed.png"), fullPage: true });
  report.problems = problems;
  console.log(JSON.stringify(report));
} catch (error) {
  if (page) await page.screenshot({ path: join(shots, "saml-failure.png"), fullPage: true }).catch(() => {});
  console.error(`e2e saml failed at "${report.steps.at(-1)}": ${error.stack ?? error}`);
  console.error(JSON.stringify({ report, problems }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
