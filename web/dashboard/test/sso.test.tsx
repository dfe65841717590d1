import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { Router } from "../src/lib/router";
import { SessionProvider } from "../src/lib/session";
import { LoginPage } from "../src/pages/AuthPages";
import { json, requests, respondWith } from "./setup";

function renderLogin() {
  render(
    <Router>
      <SessionProvider>
        <LoginPage />
      </SessionProvider>
    </Router>,
  );
}

describe("the login page's single sign-on path", () => {
  it("sends the address to the identity provider its domain names", async () => {
    const assign = vi.fn();
    const original = window.location;
    window.history.replaceState(null, "", "/login?next=/orgs/o1");
    // jsdom cannot navigate: a stand-in location records where the page sends the browser.
    Object.defineProperty(window, "location", {
      value: { assign, origin: original.origin, pathname: original.pathname, search: original.search },
      writable: true,
    });
    respondWith((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/auth/sso/start") return json({ redirect_url: "https://idp.example/authorize?x=1" });
      return json({ type: "https://beacon.dev/problems/unauthorized", title: "", status: 401, detail: "" }, 401);
    });
    renderLogin();
    const button = await screen.findByRole("button", { name: "Continue with SSO" });
    expect(button).toHaveProperty("disabled", true);
    fireEvent.change(screen.getByLabelText("Email"), { target: { value: "ann@acme.test" } });
    fireEvent.click(button);
    await waitFor(() => expect(assign).toHaveBeenCalledWith("https://idp.example/authorize?x=1"));
    const start = requests.find((r) => new URL(r.url).pathname === "/api/v1/auth/sso/start");
    expect(await start?.json()).toEqual({ email: "ann@acme.test", return_to: "/orgs/o1" });
    Object.defineProperty(window, "location", { value: original, writable: true });
  });

  it("says why a domain has no SSO, and why a round trip failed", async () => {
    respondWith((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/auth/sso/start")
        return json(
          {
            type: "https://beacon.dev/problems/sso_not_configured",
            title: "Not Found",
            status: 404,
            detail: "gmail.test has no single sign-on; sign in with your password",
          },
          404,
          "application/problem+json",
        );
      return json({ type: "https://beacon.dev/problems/unauthorized", title: "", status: 401, detail: "" }, 401);
    });
    window.history.replaceState(null, "", "/login?sso_error=sso_token_invalid&sso_detail=Invalid%20nonce");
    renderLogin();
    expect(await screen.findByText("Single sign-on failed: Invalid nonce")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Email"), { target: { value: "bo@gmail.test" } });
    fireEvent.click(screen.getByRole("button", { name: "Continue with SSO" }));
    expect(await screen.findByText(/has no single sign-on; sign in with your password/)).toBeTruthy();
  });
});
