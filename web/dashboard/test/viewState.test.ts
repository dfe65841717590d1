import { describe, expect, it } from "vitest";
import { dateRange } from "../src/lib/stats";
import { readView, withFilter, withoutFilter, writeView } from "../src/pages/dashboard/viewState";

describe("the dashboard view in the URL", () => {
  it("has defaults and an empty query string for them", () => {
    const view = readView(new URLSearchParams(""));
    expect(view).toEqual({ period: "30d", metric: "visitors", interval: "day", filters: [] });
    expect(writeView(view)).toBe("");
  });

  it("round-trips period, metric, interval and filters", () => {
    const view = {
      period: "7d",
      metric: "pageviews",
      interval: "hour" as const,
      filters: [
        { dimension: "visit:country", value: "DE" },
        { dimension: "event:page", value: "/a&b" },
      ],
    };
    const search = writeView(view);
    expect(readView(new URLSearchParams(search))).toEqual(view);
  });

  it("keeps a fixed range of days (the links in e-mail reports) and asks the API for those days", () => {
    const view = readView(new URLSearchParams("period=2026-10-19,2026-10-25"));
    expect(view.period).toBe("2026-10-19,2026-10-25");
    expect(view.interval).toBe("day");
    expect(dateRange(view.period)).toEqual(["2026-10-19", "2026-10-25"]);
    expect(dateRange("7d")).toBe("7d");
    expect(readView(new URLSearchParams("period=2026-10-19,tomorrow")).period).toBe("30d");
  });

  it("ignores values it does not know, and intervals the period cannot use", () => {
    const view = readView(new URLSearchParams("period=forever&metric=money&interval=month"));
    expect(view.period).toBe("30d");
    expect(view.metric).toBe("visitors");
    expect(view.interval).toBe("day");
    expect(readView(new URLSearchParams("period=day&interval=month")).interval).toBe("hour");
  });

  it("keeps one filter per dimension", () => {
    let view = readView(new URLSearchParams(""));
    view = withFilter(view, { dimension: "visit:source", value: "Google" });
    view = withFilter(view, { dimension: "visit:source", value: "Bing" });
    expect(view.filters).toEqual([{ dimension: "visit:source", value: "Bing" }]);
    expect(withoutFilter(view, "visit:source").filters).toEqual([]);
  });
});
