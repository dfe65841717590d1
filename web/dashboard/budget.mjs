// Fails the build when the JavaScript the dashboard's first page loads is over budget:
// 200 KB gzipped for index.html's scripts and everything they import statically.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET = 200 * 1024;
const dist = new URL("./dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");
const entries = [...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g)].map((m) => m[1]);
const preloads = [...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+)"/g)].map((m) => m[1]);
const files = [...new Set([...entries, ...preloads])].filter((f) => f.startsWith("assets/"));
let total = 0;
for (const file of files) {
  const size = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  total += size;
  console.log(`${file}: ${(size / 1024).toFixed(1)} KB gzipped`);
}
const all = readdirSync(join(dist, "assets")).filter((f) => f.endsWith(".js")).length;
console.log(
  `initial JS: ${(total / 1024).toFixed(1)} KB gzipped of ${BUDGET / 1024} KB (${files.length} of ${all} script files)`,
);
if (files.length === 0) {
  console.error("no entry script found in dist/index.html");
  process.exit(1);
}
if (total > BUDGET) {
  console.error(`initial JS is over budget by ${((total - BUDGET) / 1024).toFixed(1)} KB`);
  process.exit(1);
}
