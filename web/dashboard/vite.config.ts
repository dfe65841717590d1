import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

// The dashboard is served by `beacon serve` at `/`, with content-hashed files under
// `/assets/`. `npm --prefix web run dev:dashboard` proxies the API to a local
// `beacon serve` on :8000.
export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000", "/js": "http://127.0.0.1:8000" },
  },
  test: {
    root,
    environment: "jsdom",
    include: ["test/**/*.test.{ts,tsx}"],
    setupFiles: ["test/setup.ts"],
  },
});
