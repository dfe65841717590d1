import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { components } from "../src/api/schema";
import { SamlConnection } from "../src/pages/settings/SamlConnection";
import { json, requests, respondWith } from "./setup";

type Sso = components["schemas"]["SsoOut"];

const base: Sso = {
  oidc: undefined,
  oidc_redirect_url: "https://beacon.example/api/v1/sso/oidc/o1/callback",
  saml: undefined,
  saml_metadata_url: "https://beacon.example/api/v1/sso/saml/o1/metadata",
  saml_acs_url: "https://beacon.example/api/v1/sso/saml/o1/acs",
  policy: { enforced: false, session_hours: 24 },
  group_roles: [],
  verified_domains: ["acme.test"],
};

const saved: Sso = {
  ...base,
  saml: {
    idp_entity_id: "https://idp.example/metadata",
    sso_url: "https://idp.example/sso",
    metadata_url: "https://idp.example/metadata",
    pinned_sha256: ["ab".repeat(32)],
    email_attribute: "email",
    groups_attribute: undefined,
    allow_idp_initiated: false,
    default_role: "member",
    enabled: true,
    updated_at: "2026-11-26T00:00:00Z",
  },
};

async function savedBody() {
  await waitFor(() => expect(requests.some((r) => r.method === "PUT")).toBe(true));
  return requests.find((r) => r.method === "PUT")?.json();
}

describe("the SAML connection card", () => {
  it("shows what to give the IdP and sends its metadata URL with the pin", async () => {
    respondWith(() => json(saved.saml));
    const onSaved = vi.fn();
    render(<SamlConnection sso={base} orgId="o1" owner onSaved={onSaved} />);
    expect(screen.getByTestId("saml-metadata-url").textContent).toBe(base.saml_metadata_url);
    expect(screen.getByText(base.saml_acs_url ?? "")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("IdP metadata URL"), { target: { value: "https://idp.example/metadata" } });
    fireEvent.change(screen.getByLabelText(/Pin one certificate/), { target: { value: "AB:CD" } });
    fireEvent.click(screen.getByRole("button", { name: "Save SAML connection" }));
    expect(await savedBody()).toEqual({
      metadata_url: "https://idp.example/metadata",
      certificate_sha256: "AB:CD",
      allow_idp_initiated: false,
      default_role: "member",
      enabled: true,
    });
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
  });

  it("keeps the metadata read before when only the attributes change", async () => {
    respondWith(() => json(saved.saml));
    render(<SamlConnection sso={saved} orgId="o1" owner onSaved={() => {}} />);
    expect(screen.getByText("ab".repeat(32))).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Groups attribute"), { target: { value: "groups" } });
    fireEvent.click(screen.getByLabelText(/Accept IdP-initiated/));
    fireEvent.click(screen.getByRole("button", { name: "Save SAML connection" }));
    const body = await savedBody();
    expect(body).toEqual({
      email_attribute: "email",
      groups_attribute: "groups",
      allow_idp_initiated: true,
      default_role: "member",
      enabled: true,
    });
    expect(body).not.toHaveProperty("metadata_url");
  });

  it("is read-only for admins", () => {
    render(<SamlConnection sso={saved} orgId="o1" owner={false} onSaved={() => {}} />);
    expect(screen.queryByRole("button", { name: "Save SAML connection" })).toBeNull();
    expect(screen.getByText("Only owners change the connection.")).toBeTruthy();
  });
});
