import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Sparkline } from "../src/components/Sparkline";
import { dsn } from "../src/pages/errors/IssuesPage";

describe("errors", () => {
  it("builds the DSN Sentry SDKs need from the project and this host", () => {
    const project = { ingest_key: "pk_abc", ingest_id: 42 } as Parameters<typeof dsn>[0];
    expect(dsn(project)).toBe(`${window.location.protocol}//pk_abc@${window.location.host}/42`);
  });

  it("draws one bar per day, scaled to the busiest, with the counts for screen readers", () => {
    render(<Sparkline values={[0, 5, 10]} label="Events per day: 0, 5, 10" />);
    const chart = screen.getByRole("img", { name: "Events per day: 0, 5, 10" });
    const heights = [...chart.querySelectorAll("rect")].map((r) => Number(r.getAttribute("height")));
    expect(heights).toEqual([1, 12, 24]);
  });
});
