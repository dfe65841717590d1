import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ApiProblem } from "../src/api/client";
import { ErrorNote, Field } from "../src/components/ui";
import type { StatsResult } from "../src/lib/stats";
import { Breakdown } from "../src/pages/dashboard/Breakdown";
import { TopMetrics } from "../src/pages/dashboard/TopMetrics";
import { json, requests, respondWith } from "./setup";

const echo = {
  site_id: "shop.example",
  metrics: [],
  date_range: ["2026-11-01", "2026-11-30"],
  dimensions: [],
  filters: [],
  pagination: { limit: 10, offset: 0 },
};

describe("TopMetrics", () => {
  const result: StatsResult = {
    results: [
      {
        dimensions: [],
        metrics: [1200, 1500, 4000, 2.67, 41, 95],
        comparison: { dimensions: [], metrics: [1000, 1500, 4400, 2.9, 38, 95], change: [20, 0, -9, -8, 3, 0] },
      },
    ],
    meta: { total_rows: 1, time_zone: "UTC" },
    query: echo,
  };

  it("formats each metric and says how it changed", () => {
    render(<TopMetrics result={result} selected="visitors" onSelect={() => {}} />);
    expect(screen.getByText("1,200")).toBeTruthy();
    expect(screen.getByText("41%")).toBeTruthy();
    expect(screen.getByText("1m 35s")).toBeTruthy();
    // More visitors is good; a higher bounce rate is not.
    const visitors = screen.getByRole("button", { name: /Unique visitors/ });
    expect(visitors.querySelector(".metric-change")?.className).toContain("good");
    const bounce = screen.getByRole("button", { name: /Bounce rate/ });
    expect(bounce.querySelector(".metric-change")?.className).toContain("bad");
    expect(bounce.textContent).toContain("3 pp");
  });

  it("selects a metric for the graph", () => {
    const onSelect = vi.fn();
    render(<TopMetrics result={result} selected="visitors" onSelect={onSelect} />);
    expect(screen.getByRole("button", { name: /Unique visitors/ }).getAttribute("aria-pressed")).toBe("true");
    fireEvent.click(screen.getByRole("button", { name: /Total pageviews/ }));
    expect(onSelect).toHaveBeenCalledWith("pageviews");
  });
});

describe("Breakdown", () => {
  const rows = [
    { dimensions: ["DE"], metrics: [30] },
    { dimensions: [null], metrics: [5] },
  ];

  it("queries its dimension with the view's filters and filters on a click", async () => {
    respondWith(() => json({ results: rows, meta: { total_rows: 2, time_zone: "UTC" }, query: echo }));
    const onFilter = vi.fn();
    render(
      <Breakdown
        title="Countries"
        tabs={[{ dimension: "visit:country", label: "Countries" }]}
        siteId="shop.example"
        dateRange={["2026-11-01", "2026-11-30"]}
        filters={[{ dimension: "event:page", value: "/pricing" }]}
        refresh={0}
        onFilter={onFilter}
      />,
    );
    const germany = await screen.findByRole("button", { name: /Germany/ });
    const body = await requests[0].json();
    expect(body).toMatchObject({
      site_id: "shop.example",
      dimensions: ["visit:country"],
      filters: [["is", "event:page", ["/pricing"]]],
      date_range: ["2026-11-01", "2026-11-30"],
    });
    fireEvent.click(germany);
    expect(onFilter).toHaveBeenCalledWith({ dimension: "visit:country", value: "DE" });
    // An unknown country is shown, but cannot be filtered on.
    expect((screen.getByRole("button", { name: /\(unknown\)/ }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("loads again for a new metric or new extra filters, not for equal props on a re-render", async () => {
    respondWith(() => json({ results: rows, meta: { total_rows: 2, time_zone: "UTC" }, query: echo }));
    const props = {
      title: "Custom events",
      tabs: [{ dimension: "event:name", label: "Events" }],
      siteId: "s",
      dateRange: ["2026-11-01", "2026-11-30"] as [string, string],
      filters: [],
      refresh: 0,
      onFilter: () => {},
    };
    const { rerender } = render(
      <Breakdown {...props} metric="visitors" extra={[["is_not", "event:name", ["pageview"]]]} />,
    );
    await waitFor(() => expect(requests).toHaveLength(1));
    // The parent passes new (but equal) arrays on every render: no new request.
    rerender(<Breakdown {...props} metric="visitors" extra={[["is_not", "event:name", ["pageview"]]]} />);
    rerender(<Breakdown {...props} metric="events" extra={[["is_not", "event:name", ["pageview"]]]} />);
    await waitFor(() => expect(requests).toHaveLength(2));
    expect(await requests[1].json()).toMatchObject({ metrics: ["events"], order_by: [["events", "desc"]] });
    rerender(<Breakdown {...props} metric="events" extra={[["is", "event:name", ["Signup"]]]} />);
    await waitFor(() => expect(requests).toHaveLength(3));
    expect((await requests[2].json()).filters).toEqual([["is", "event:name", ["Signup"]]]);
    await screen.findByRole("button", { name: /DE|Germany/ });
    expect(requests).toHaveLength(3);
  });

  it("shows an empty state and API errors in words", async () => {
    respondWith(() => json({ results: [], meta: { total_rows: 0, time_zone: "UTC" }, query: echo }));
    const props = {
      title: "Pages",
      tabs: [{ dimension: "event:page", label: "Top pages" }],
      siteId: "s",
      dateRange: ["2026-11-01", "2026-11-30"] as [string, string],
      filters: [],
      refresh: 0,
      onFilter: () => {},
    };
    const { unmount } = render(<Breakdown {...props} />);
    await screen.findByText("No data for this period.");
    unmount();
    respondWith(() =>
      json(
        {
          type: "https://beacon.dev/problems/invalid_filter",
          title: "Bad Request",
          status: 400,
          detail: "unknown dimension",
        },
        400,
        "application/problem+json",
      ),
    );
    render(<Breakdown {...props} refresh={1} />);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("unknown dimension"));
  });
});

describe("form building blocks", () => {
  it("labels every input", () => {
    render(<Field label="Email" hint="We never share it." />);
    const input = screen.getByLabelText("Email");
    expect(input.getAttribute("aria-describedby")).toBeTruthy();
    expect(screen.getByText("We never share it.").id).toBe(input.getAttribute("aria-describedby"));
  });

  it("shows a problem's detail as an alert", () => {
    render(
      <ErrorNote
        error={new ApiProblem(403, "https://beacon.dev/problems/forbidden", "Forbidden", "your role cannot do this")}
      />,
    );
    expect(screen.getByRole("alert").textContent).toBe("your role cannot do this");
  });
});
