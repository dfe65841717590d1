// Builds the tracker once per combination of optional modes into tracker/dist/, named like
// Plausible's: script.js, script.hash.js, script.outbound-links.file-downloads.js, … (modes in
// the order of MODES), and the optional extensions (vitals.js; replay.js and the
// replay-recorder.js it loads). The dist files are checked in so `cargo build` needs no Node.
// Fails when a bundle is over its size budget. `--out DIR` writes the bundles to DIR instead:
// scripts/check-generated builds there and compares with dist/.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outAt = process.argv.indexOf("--out");
if (outAt !== -1 && !process.argv[outAt + 1]) {
  console.error("usage: node build.mjs [--out DIR]");
  process.exit(2);
}
const dist = outAt === -1 ? join(here, "dist") : resolve(process.argv[outAt + 1]);
const MODES = [
  ["hash", "HASH"],
  ["outbound-links", "OUTBOUND"],
  ["file-downloads", "DOWNLOADS"],
  ["tagged-events", "TAGGED"],
];
/** The core script's gzipped size limit, in bytes. */
const CORE_BUDGET = 1000;

/** The Web Vitals extension's gzipped size limit, in bytes (web-vitals' attribution build). */
const VITALS_BUDGET = 8000;

/** The session replay loader's gzipped size limit, in bytes: every page of a site loads it. */
const REPLAY_BUDGET = 1500;

/** The session recorder's gzipped size limit, in bytes (rrweb's recorder): sampled pages only. */
const RECORDER_BUDGET = 40000;

async function bundle(enabled, entry = "src/script.ts") {
  const define = Object.fromEntries(MODES.map(([, flag]) => [flag, String(enabled.includes(flag))]));
  const result = await build({
    entryPoints: [join(here, entry)],
    bundle: true,
    minify: true,
    format: "iife",
    target: "es2017",
    define,
    write: false,
    legalComments: "none",
  });
  return result.outputFiles[0].text;
}

const outputs = {};
for (let mask = 0; mask < 1 << MODES.length; mask++) {
  const chosen = MODES.filter((_, i) => mask & (1 << i));
  const name = ["script", ...chosen.map(([mode]) => mode), "js"].join(".");
  outputs[name] = await bundle(chosen.map(([, flag]) => flag));
}

/** Builds an optional extension into `outputs[name]`; exits when it is over its budget. */
async function extension(name, entry, budget, what) {
  outputs[name] = await bundle([], entry);
  const size = gzipSync(outputs[name], { level: 9 }).length;
  console.log(`${name}: ${size} bytes gzipped (budget ${budget})`);
  if (size > budget) {
    console.error(`the ${what} is ${size} bytes gzipped, over the ${budget}-byte budget`);
    process.exit(1);
  }
}

// The optional extensions, each its own file, loaded only by sites that want it: Core Web
// Vitals, and session replay (a small loader that loads the recorder for sampled sessions).
await extension("vitals.js", "src/vitals.ts", VITALS_BUDGET, "vitals extension");
await extension("replay.js", "src/replay.ts", REPLAY_BUDGET, "replay loader");
await extension("replay-recorder.js", "src/replay-recorder.ts", RECORDER_BUDGET, "session recorder");

const coreSize = gzipSync(outputs["script.js"], { level: 9 }).length;
console.log(`script.js: ${outputs["script.js"].length} bytes, ${coreSize} bytes gzipped (budget ${CORE_BUDGET})`);
if (coreSize > CORE_BUDGET) {
  console.error(`the core tracker is ${coreSize} bytes gzipped, over the ${CORE_BUDGET}-byte budget`);
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
for (const [name, text] of Object.entries(outputs)) writeFileSync(join(dist, name), text);
console.log(`wrote ${Object.keys(outputs).length} bundles to ${dist}`);
