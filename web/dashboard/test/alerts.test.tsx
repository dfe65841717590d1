import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Schemas } from "../src/api/client";
import { ProjectContext } from "../src/components/ProjectFrame";
import { type Alert, formatValue, ruleSentence } from "../src/lib/alerts";
import { AlertForm } from "../src/pages/alerts/AlertForm";
import { json, requests, respondWith } from "./setup";

// uPlot (the preview chart) asks for matchMedia when its module loads; jsdom has none.
vi.hoisted(() => {
  window.matchMedia ??= ((query: string) =>
    ({
      matches: false,
      media: query,
      addEventListener() {},
      removeEventListener() {},
    }) as unknown as MediaQueryList) as typeof window.matchMedia;
});

const project = { id: "p1", org_id: "o1", name: "Shop" } as Schemas["ProjectOut"];

const alert = {
  id: "a1",
  name: "Traffic drop",
  metric: "visitors",
  condition: "decrease_pct",
  baseline: "last_week",
  window_minutes: 60,
  warning: 30,
  critical: 60,
  resolve: 15,
} as Alert;

describe("alerts", () => {
  it("says a rule in words, with percentages for changes and units for vitals", () => {
    expect(ruleSentence(alert)).toBe(
      "Visitors (last hour) falls by more than (%) against last week: warning 30%, critical 60%",
    );
    expect(formatValue({ metric: "lcp_p75", condition: "above" }, 2512.4)).toBe("2512 ms");
    expect(formatValue({ metric: "cls_p75", condition: "above" }, 0.1)).toBe("0.100");
    expect(formatValue({ metric: "bounce_rate", condition: "below" }, 41.25)).toBe("41.3%");
  });

  it("sends the rule as written, with the channels ticked", async () => {
    respondWith((request) =>
      request.method === "GET"
        ? json([{ id: "c1", name: "Ops", kind: "slack", emails: [], member_ids: [], enabled: true }])
        : json({ ...alert, id: "new" }, 201),
    );
    const onSaved = vi.fn();
    render(
      <ProjectContext.Provider value={{ project, role: "member", reload: () => {} }}>
        <AlertForm onSaved={onSaved} />
      </ProjectContext.Provider>,
    );
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Signups" } });
    fireEvent.change(screen.getByLabelText("Metric"), { target: { value: "pageviews" } });
    fireEvent.change(screen.getByLabelText("Condition"), { target: { value: "above" } });
    fireEvent.change(screen.getByLabelText("Warning at"), { target: { value: "100" } });
    fireEvent.click(await screen.findByLabelText(/Ops/));
    fireEvent.click(screen.getByRole("button", { name: "Create alert" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    const sent = await requests.find((r) => r.method === "POST")?.json();
    expect(sent).toMatchObject({
      name: "Signups",
      metric: "pageviews",
      condition: "above",
      baseline: null,
      warning: 100,
      critical: null,
      channel_ids: ["c1"],
      window_minutes: 60,
    });
  });
});
