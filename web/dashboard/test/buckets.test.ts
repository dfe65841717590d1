import { describe, expect, it } from "vitest";
import { bucketLabels, fillBuckets, shortLabel } from "../src/lib/buckets";

describe("time buckets", () => {
  it("lists every hour of the days in the range", () => {
    const labels = bucketLabels("2026-11-21", "2026-11-22", "hour");
    expect(labels).toHaveLength(48);
    expect(labels[0]).toBe("2026-11-21 00:00:00");
    expect(labels[47]).toBe("2026-11-22 23:00:00");
  });

  it("starts weeks on the Monday the API labels them with", () => {
    // 2026-11-22 is a Sunday; its ISO week began on Monday the 16th.
    expect(bucketLabels("2026-11-22", "2026-11-30", "week")).toEqual(["2026-11-16", "2026-11-23", "2026-11-30"]);
  });

  it("lists months across a year boundary", () => {
    expect(bucketLabels("2025-11-15", "2026-02-01", "month")).toEqual([
      "2025-11-01",
      "2025-12-01",
      "2026-01-01",
      "2026-02-01",
    ]);
  });

  it("is empty for a reversed range", () => {
    expect(bucketLabels("2026-11-22", "2026-11-21", "day")).toEqual([]);
  });

  it("places rows on their buckets and fills the gaps with zero", () => {
    const labels = bucketLabels("2026-11-20", "2026-11-22", "day");
    const rows = [{ dimensions: ["2026-11-21"], metrics: [7] }];
    expect(fillBuckets(labels, rows)).toEqual([0, 7, 0]);
  });

  it("shortens labels for the axis", () => {
    expect(shortLabel("2026-11-22 13:00:00", "hour")).toBe("13:00");
    expect(shortLabel("2026-11-02", "day")).toBe("Nov 2");
    expect(shortLabel("2026-11-01", "month")).toBe("Nov 2026");
  });
});
