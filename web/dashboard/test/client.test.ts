import { describe, expect, it, vi } from "vitest";
import { ApiProblem, api, onUnauthorized, setCsrfToken, unwrap } from "../src/api/client";
import { json, requests, respondWith } from "./setup";

const problem = (status: number, kind: string, detail: string) =>
  json(
    { type: `https://beacon.dev/problems/${kind}`, title: "Error", status, detail },
    status,
    "application/problem+json",
  );

describe("the API client", () => {
  it("sends the CSRF token on writes only", async () => {
    setCsrfToken("csrf-123");
    respondWith(() => json({ items: [], next_cursor: null }));
    await unwrap(api.GET("/api/v1/orgs"));
    respondWith(() => json({ id: "o", name: "Acme", role: "owner", created_at: "2026-11-22T00:00:00Z" }, 201));
    await unwrap(api.POST("/api/v1/orgs", { body: { name: "Acme" } }));
    expect(requests[0].headers.get("x-csrf-token")).toBeNull();
    expect(requests[1].headers.get("x-csrf-token")).toBe("csrf-123");
    setCsrfToken(null);
  });

  it("turns a problem+json answer into an ApiProblem with its detail and kind", async () => {
    respondWith(() => problem(409, "email_taken", "an account with this e-mail already exists"));
    const error = await unwrap(api.POST("/api/v1/auth/signup", { body: { email: "a@b.c", password: "x" } })).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ApiProblem);
    expect(error.status).toBe(409);
    expect(error.kind).toBe("email_taken");
    expect(error.message).toBe("an account with this e-mail already exists");
  });

  it("reports a network failure in words, not as a TypeError", async () => {
    respondWith(() => Promise.reject(new TypeError("fetch failed")));
    const error = await unwrap(api.GET("/api/v1/auth/me")).catch((e) => e);
    expect(error.kind).toBe("network");
    expect(error.detail).toMatch(/could not be reached/);
  });

  it("tells the app when the session is gone", async () => {
    const listener = vi.fn();
    const stop = onUnauthorized(listener);
    respondWith(() => problem(401, "unauthorized", "the session has expired; sign in again"));
    await unwrap(api.GET("/api/v1/orgs")).catch(() => undefined);
    expect(listener).toHaveBeenCalledTimes(1);
    stop();
  });

  it("describes an answer that is not a problem", async () => {
    respondWith(() => new Response("<html>Bad gateway</html>", { status: 502 }));
    const error = await unwrap(api.GET("/api/v1/orgs")).catch((e) => e);
    expect(error.status).toBe(502);
    expect(error.detail).toMatch(/502/);
  });
});

describe("a session replaced in another tab", () => {
  it("retries a write once with the current session's token", async () => {
    setCsrfToken("old-token");
    const seen: (string | null)[] = [];
    respondWith((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/auth/session") {
        return json({ user: { id: "u2", email: "b@x.y", email_verified: true }, csrf_token: "new-token" });
      }
      seen.push(request.headers.get("x-csrf-token"));
      if (request.headers.get("x-csrf-token") !== "new-token") {
        return json(
          { type: "https://beacon.dev/problems/csrf_failed", title: "Forbidden", status: 403, detail: "stale" },
          403,
          "application/problem+json",
        );
      }
      return json({ id: "o", name: "Acme", role: "owner", created_at: "2026-11-22T00:00:00Z" }, 201);
    });
    const org = await unwrap(api.POST("/api/v1/orgs", { body: { name: "Acme" } }));
    expect(org.name).toBe("Acme");
    expect(seen).toEqual(["old-token", "new-token"]);
    setCsrfToken(null);
  });

  it("does not retry other refusals", async () => {
    setCsrfToken("t");
    let calls = 0;
    respondWith(() => {
      calls += 1;
      return json(
        { type: "https://beacon.dev/problems/forbidden", title: "Forbidden", status: 403, detail: "role" },
        403,
        "application/problem+json",
      );
    });
    const error = await unwrap(api.POST("/api/v1/orgs", { body: { name: "Acme" } })).catch((e) => e);
    expect(error.kind).toBe("forbidden");
    expect(calls).toBe(1);
    setCsrfToken(null);
  });
});
