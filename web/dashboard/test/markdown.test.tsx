import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown, safeHref } from "../src/lib/markdown";

describe("Markdown", () => {
  it("renders the subset as elements", () => {
    const { container } = render(
      <Markdown source={"# Launch\n\n**v2.3** is *out*: see [notes](https://example.com/n)\n\n- one\n- `two`"} />,
    );
    expect(container.querySelector("h3")?.textContent).toBe("Launch");
    expect(container.querySelector("strong")?.textContent).toBe("v2.3");
    expect(container.querySelector("em")?.textContent).toBe("out");
    expect(container.querySelector("a")?.getAttribute("href")).toBe("https://example.com/n");
    expect(container.querySelectorAll("li")).toHaveLength(2);
    expect(container.querySelector("code")?.textContent).toBe("two");
  });

  it("shows HTML as text and drops unsafe links", () => {
    const { container } = render(
      <Markdown source={'<script>alert(1)</script> <img src=x onerror="alert(2)"> [click](javascript:alert(3))'} />,
    );
    // The control: the same text is there, as text.
    expect(container.textContent).toContain("<script>alert(1)</script>");
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("a")).toBeNull();
    expect(container.textContent).toContain("click");
  });

  it("allows only http(s) and mailto targets", () => {
    expect(safeHref("https://beacon.dev")).toBe("https://beacon.dev/");
    expect(safeHref("mailto:ops@example.com")).toBe("mailto:ops@example.com");
    expect(safeHref("javascript:alert(1)")).toBeNull();
    expect(safeHref("data:text/html,hi")).toBeNull();
    expect(safeHref("/relative")).toBeNull();
  });
});
