// How long the main dashboard takes to show a period, in headless Chromium (Debian's, through
// playwright-core): from the start of navigation to the moment the top stats, the graph and
// all five breakdown panels hold their answers (no spinner left on the page). Signs in once,
// loads the page once to warm the caches, then RUNS times; prints one JSON object with every
// run and the median, in milliseconds. Used by `scripts/bench-query` (DASHBOARD=1).
//
// node load-time.mjs <beacon url> <email> <password> <org id> <project id> [period] [runs]

import { chromium } from "playwright-core";
import { submitSignIn } from "../e2e/lib.mjs";

const [beacon, email, password, org, project, period = "30d", runs = "5"] = process.argv.slice(2);
if (!beacon || !email || !password || !org || !project) {
  console.error("usage: node load-time.mjs <beacon url> <email> <password> <org> <project> [period] [runs]");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.BEACON_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  await page.goto(`${beacon}/login`);
  await submitSignIn(page, email, password);
  const url = `${beacon}/orgs/${org}/projects/${project}?period=${period}`;
  // Every panel answered: read in the page, as milliseconds since its navigation started.
  const shown = () =>
    page.waitForFunction(
      () =>
        document.querySelector('[data-metric="visitors"]') &&
        document.querySelectorAll("section.panel").length === 5 &&
        [...document.querySelectorAll("section.panel")].every((panel) => panel.querySelector(".bars, .empty")) &&
        !document.querySelector(".spinner")
          ? performance.now()
          : false,
      undefined,
      { polling: 5, timeout: 120_000 },
    );
  await page.goto(url);
  await shown();
  const times = [];
  for (let run = 0; run < Number(runs); run++) {
    await page.goto(url);
    times.push(Math.round(await (await shown()).jsonValue()));
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(JSON.stringify({ period, runs: times, median: sorted[Math.floor(sorted.length / 2)] }));
} finally {
  await browser.close();
}
