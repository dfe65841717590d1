// Single sign-on end to end in headless Chromium (Debian's, through playwright-core) against a
// real `beacon serve`, a real OpenID Connect provider (`oidc-provider` from npm, started here
// with its development login and consent pages) and the test's DNS server. Called by the Rust
// test `sso::the_sso_journey_in_chromium` with Beacon's port, the maildir, a screenshot
// directory and the DNS server's records file; prints a JSON report it checks.
//
// 1. an owner signs up, creates an organization and verifies acme.test by its TXT record;
// 2. on the Single sign-on page they connect the provider, map a group to admin, and test the
//    connection: the provider's answer is shown;
// 3. in another browser, ann@acme.test chooses "Continue with SSO" on the login page, signs in
//    at the provider and lands in the organization as an admin, created just in time;
// 4. the owner requires SSO (ann's SSO session still works);
// 5. the owner makes a SCIM token, the provider provisions bob with it, and Members marks him
//    as managed by the identity provider;
// 6. a failed SSO round trip comes back to the login page with the reason.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import Provider from "oidc-provider";
import { chromium } from "playwright-core";
import { joinBeacon } from "./lib.mjs";

const [beaconPort, maildir, shots, dnsRecords] = process.argv.slice(2);
if (!beaconPort || !maildir || !shots || !dnsRecords) {
  console.error("usage: node sso.mjs <beacon port> <maildir> <screenshot dir> <dns records file>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const name of readdirSync(shots)) if (name.startsWith("sso-")) rmSync(join(shots, name));
const beacon = `http://beacon.test:${beaconPort}`;
const PASSWORD = "correct horse battery";
const OWNER = "owner@acme.test";
const report = { steps: [] };
const problems = [];
const step = (name) => {
  report.steps.push(name);
  console.error(`e2e sso: ${name}`);
};

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The provider, for Beacon's client of organization `org`: anyone may sign in as any login. */
async function startProvider(org) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: "beacon",
        client_secret: "beacon-client-secret",
        redirect_uris: [`${beacon}/api/v1/sso/oidc/${org}/callback`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    scopes: ["openid", "email", "profile", "groups"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
    conformIdTokenClaims: false,
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({
        sub: id,
        email: `${id}@acme.test`,
        email_verified: true,
        name: id,
        groups: id === "ann" ? ["staff", "beacon-admins"] : ["staff"],
      }),
    }),
    features: { devInteractions: { enabled: true } },
  });
  const server = provider.listen(port);
  return { issuer, server };
}

/** Signs in at the provider's development pages as `login`, consenting when asked. */
async function providerSignIn(page, login) {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("anything");
  await page.getByRole("button", { name: "Sign-in" }).click();
  // The provider asks for consent the first time; whichever comes first, consent or Beacon.
  // The branch that loses the race must not reject unhandled later.
  const consent = page.getByRole("button", { name: "Continue" });
  const back = (url) => url.host === `beacon.test:${beaconPort}`;
  await Promise.race([
    consent
      .waitFor({ timeout: 15_000 })
      .then(() => consent.click())
      .catch(() => {}),
    page.waitForURL(back, { timeout: 15_000 }).catch(() => {}),
  ]);
  await page.waitForURL(back);
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
let idp;
try {
  const context = await browser.newContext();
  page = await context.newPage();
  watch(page);

  step("sign up, create an organization and verify acme.test");
  await joinBeacon(page, { maildir, email: OWNER, password: PASSWORD, signupUrl: `${beacon}/signup` });
  await page.getByLabel("Organization name").fill("Acme SSO");
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

  step("connect the provider, map a group, test the connection");
  idp = await startProvider(org);
  await page.goto(`${beacon}/orgs/${org}/sso`);
  await page.getByText(`/api/v1/sso/oidc/${org}/callback`).first().waitFor();
  report.redirectShown = 1;
  await page.getByLabel("Issuer URL").fill(idp.issuer);
  await page.getByLabel("Client ID").fill("beacon");
  await page.getByLabel("Client secret").fill("beacon-client-secret");
  await page.getByLabel("Scopes").fill("email profile groups");
  await page.getByLabel("Groups claim").fill("groups");
  await page.getByRole("button", { name: "Save connection" }).click();
  await page.getByRole("button", { name: "Test connection" }).waitFor();
  await page.getByRole("button", { name: "Add a group" }).click();
  await page.getByLabel("Group", { exact: true }).fill("beacon-admins");
  await page.getByLabel("Role", { exact: true }).selectOption("admin");
  const groupsSaved = page.waitForResponse((r) => r.url().endsWith("/sso/group-roles") && r.status() === 200);
  await page.getByRole("button", { name: "Save groups" }).click();
  await groupsSaved;
  await page.getByRole("button", { name: "Test connection" }).click();
  await page.waitForURL((url) => url.host.startsWith("127.0.0.1"));
  await providerSignIn(page, "owner");
  await page.getByText("The provider signed you in").waitFor();
  const outcome = JSON.parse(await page.getByTestId("sso-test-outcome").textContent());
  report.testEmail = outcome.email;
  report.testGroups = outcome.groups;
  await page.screenshot({ path: join(shots, "sso-settings.png"), fullPage: true });

  step("a new person signs in through SSO from the login page");
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
  await ann.waitForURL((url) => url.host.startsWith("127.0.0.1"));
  const callback = ann.waitForResponse((r) => r.url().includes("/callback?"));
  await providerSignIn(ann, "ann");
  const callbackResponse = await callback;
  report.callbackStatus = callbackResponse.status();
  report.callbackMs = Math.round(callbackResponse.request().timing().responseEnd);
  await ann.waitForURL((url) => url.pathname === `/orgs/${org}`);
  await ann.getByRole("heading", { name: "Acme SSO" }).waitFor();
  report.annRole = await ann.evaluate(async (org) => {
    const members = await (await fetch(`/api/v1/orgs/${org}/members`)).json();
    return members.items.find((m) => m.email === "ann@acme.test")?.role;
  }, org);
  await ann.screenshot({ path: join(shots, "sso-signed-in.png"), fullPage: true });

  step("the owner requires SSO");
  await page.goto(`${beacon}/orgs/${org}/sso`);
  await page.getByLabel(/Require single sign-on/).check();
  const saved = page.waitForResponse((r) => r.url().endsWith("/sso/policy"));
  await page.getByRole("button", { name: "Save policy" }).click();
  report.policyStatus = (await saved).status();
  // ann's session came from this organization's SSO: it still works.
  report.annAfterPolicy = await ann.evaluate(async (org) => (await fetch(`/api/v1/orgs/${org}/projects`)).status, org);

  step("the owner makes a SCIM token; the provider provisions bob, marked on Members");
  await page.getByLabel("Token name").fill("Okta");
  await page.getByRole("button", { name: "Create token" }).click();
  const scimSecret = (await page.getByTestId("scim-secret").textContent()).trim();
  report.scimCreated = await page.evaluate(async (secret) => {
    const r = await fetch("/scim/v2/Users", {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/scim+json" },
      body: JSON.stringify({ userName: "bob@acme.test", emails: [{ value: "bob@acme.test", primary: true }] }),
    });
    return r.status;
  }, scimSecret);
  await page.goto(`${beacon}/orgs/${org}/members`);
  await page.getByText("bob@acme.test").waitFor();
  report.managedShown = await page.getByText("managed by your identity provider").count();
  await page.screenshot({ path: join(shots, "sso-members.png"), fullPage: true });

  step("a failed round trip comes back to the login page with the reason");
  await ann.goto(`${beacon}/api/v1/sso/oidc/${org}/callback?state=forged&code=x`);
  await ann.waitForURL((url) => url.pathname === "/login");
  report.failureShown = await ann.getByText(/Single sign-on failed:/).count();
  await ann.screenshot({ path: join(shots, "sso-failed.png"), fullPage: true });
  report.problems = problems;
  console.log(JSON.stringify(report));
} catch (error) {
  if (page) await page.screenshot({ path: join(shots, "sso-failure.png"), fullPage: true }).catch(() => {});
  console.error(`e2e sso failed at "${report.steps.at(-1)}": ${error.stack ?? error}`);
  console.error(JSON.stringify({ report, problems }));
  process.exitCode = 1;
} finally {
  await browser.close();
  idp?.server.close();
}
