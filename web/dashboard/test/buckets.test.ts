import { describe, expect, it } from "vitest";
import { bucketIndex, bucketLabels, fillBuckets, localLabel, shortLabel } from "../src/lib/buckets";

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

describe("annotations on buckets", () => {
  it("reads an instant in the project's time zone", () => {
    expect(localLabel("2026-10-25T00:30:00Z", "Europe/Berlin")).toBe("2026-10-25 02:30:00");
    expect(localLabel("2026-11-20T23:30:00Z", "America/New_York")).toBe("2026-11-20 18:30:00");
  });

  it("places a moment in its day, hour, week or month, and nowhere outside the range", () => {
    const days = bucketLabels("2026-11-16", "2026-11-22", "day");
    expect(bucketIndex(days, "2026-11-18 09:15:00", "2026-11-22")).toBe(2);
    expect(bucketIndex(days, "2026-11-15 23:59:59", "2026-11-22")).toBeNull();
    expect(bucketIndex(days, "2026-11-23 00:00:00", "2026-11-22")).toBeNull();
    const hours = bucketLabels("2026-11-16", "2026-11-16", "hour");
    expect(bucketIndex(hours, "2026-11-16 13:59:00", "2026-11-16")).toBe(13);
    const weeks = bucketLabels("2026-11-01", "2026-11-30", "week");
    expect(weeks[bucketIndex(weeks, "2026-11-19 10:00:00", "2026-11-30") ?? -1]).toBe("2026-11-16");
  });
});
