import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Layout } from "../src/components/Layout";
import { OrgsProvider } from "../src/lib/orgs";
import { canAdmin, canWrite } from "../src/lib/roles";
import { Router } from "../src/lib/router";
import { SessionProvider } from "../src/lib/session";
import { json, respondWith } from "./setup";

describe("roles", () => {
  it("mirror the API's checks", () => {
    expect(["viewer", "member", "admin", "owner"].map(canWrite)).toEqual([false, true, true, true]);
    expect(["viewer", "member", "admin", "owner"].map(canAdmin)).toEqual([false, false, true, true]);
  });

  for (const [role, keys] of [
    ["viewer", 0],
    ["admin", 1],
  ] as const) {
    it(`show the API keys link to ${role === "admin" ? "an admin" : "a viewer"} ${keys ? "" : "not"}`, async () => {
      respondWith((request) => {
        const path = new URL(request.url).pathname;
        if (path === "/api/v1/auth/session")
          return json({ user: { id: "u", email: "v@x.y", email_verified: true }, csrf_token: "t" });
        return json({
          items: [{ id: "o1", name: "Acme", role, created_at: "2026-11-22T00:00:00Z" }],
          next_cursor: null,
        });
      });
      render(
        <Router>
          <SessionProvider>
            <OrgsProvider>
              <Layout orgId="o1">content</Layout>
            </OrgsProvider>
          </SessionProvider>
        </Router>,
      );
      await screen.findByRole("link", { name: "Members" });
      expect(screen.queryAllByRole("link", { name: "API keys" })).toHaveLength(keys);
    });
  }
});
