import { describe, expect, it } from "vitest";
import { nextPath } from "../src/pages/AuthPages";

describe("where sign-in goes next", () => {
  it("keeps local paths with their query", () => {
    expect(nextPath(new URLSearchParams("next=/invitations/accept?token=a.b"))).toBe("/invitations/accept?token=a.b");
    expect(nextPath(new URLSearchParams(""))).toBe("/");
  });

  it("never leaves the origin", () => {
    for (const next of [
      "//evil.example",
      "/\\evil.example",
      "https://evil.example/x",
      "/\t/evil.example",
      "javascript:alert(1)",
    ]) {
      expect(nextPath(new URLSearchParams({ next })), next).toBe("/");
    }
  });
});
