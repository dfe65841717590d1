// A breakdown panel: the top values of one dimension (chosen by tab), as bars. Choosing a
// row filters the whole dashboard by it.
import { useState } from "react";
import { Button, Empty, ErrorNote, Loading, useAction } from "../../components/ui";
import { downloadCsv } from "../../lib/download";
import { formatNumber } from "../../lib/format";
import { filterExpressions, runQuery, type StatsQuery, type ViewFilter } from "../../lib/stats";
import { useAsync } from "../../lib/useAsync";
import { dimensionLabel } from "./viewState";

const countryNames = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;

function displayValue(dimension: string, value: string | null): string {
  if (value === null) return "(unknown)";
  if (dimension === "visit:country" && /^[A-Z]{2}$/.test(value)) {
    try {
      return countryNames?.of(value) ?? value;
    } catch {
      return value;
    }
  }
  return value === "" ? "(none)" : value;
}

export interface Tab {
  dimension: string;
  label: string;
}

interface Props {
  title: string;
  tabs: Tab[];
  siteId: string;
  dateRange: [string, string];
  filters: ViewFilter[];
  refresh: number;
  /** Extra filter expressions for this panel only (the events panel leaves out pageviews). */
  extra?: unknown[];
  metric?: "visitors" | "events";
  onFilter: (filter: ViewFilter) => void;
  /** Offer the CSV of every row (not on a shared link, whose visitor cannot export). */
  csv?: boolean;
}

export function Breakdown({
  title,
  tabs,
  siteId,
  dateRange,
  filters,
  refresh,
  extra = [],
  metric = "visitors",
  onFilter,
  csv = true,
}: Props) {
  const [tab, setTab] = useState(tabs[0]);
  // The query as a string: props like `extra` are new arrays on every render, so the load
  // depends on what they say, not on their identity.
  const request = JSON.stringify({
    site_id: siteId,
    metrics: [metric],
    date_range: dateRange,
    dimensions: [tab.dimension],
    filters: [...(filterExpressions(filters) ?? []), ...extra],
    order_by: [[metric, "desc"]],
    pagination: { limit: 10 },
  } satisfies StatsQuery);
  const rows = useAsync(() => runQuery(JSON.parse(request)), [request, refresh]);
  const download = useAction(async () => {
    const { pagination: _page, ...everyRow } = JSON.parse(request) as StatsQuery;
    await downloadCsv(everyRow, `${siteId}-${tab.dimension.replace(":", "-")}.csv`);
  });
  const results = rows.data?.results ?? [];
  const max = Math.max(1, ...results.map((row) => row.metrics[0]));
  const active = filters.some((f) => f.dimension === tab.dimension);
  return (
    <section className="card panel" aria-label={title}>
      <header className="card-header">
        <h2>{title}</h2>
        {csv && (
          <Button
            variant="ghost"
            aria-label={`Download every row of ${dimensionLabel(tab.dimension).toLowerCase()} as CSV`}
            busy={download.busy}
            onClick={() => void download.run()}
          >
            CSV
          </Button>
        )}
        {tabs.length > 1 && (
          <div className="segmented" role="tablist" aria-label={`${title} breakdown`}>
            {tabs.map((option) => (
              <button
                type="button"
                role="tab"
                key={option.dimension}
                aria-selected={option.dimension === tab.dimension}
                onClick={() => setTab(option)}
              >
                {option.label}
              </button>
            ))}
          </div>
        )}
      </header>
      <div className="panel-columns muted">
        <span>{dimensionLabel(tab.dimension)}</span>
        <span>{metric === "events" ? "Events" : "Visitors"}</span>
      </div>
      <ErrorNote error={rows.error ?? download.error} />
      {!rows.data && !rows.error && <Loading />}
      {rows.data && results.length === 0 && <Empty>No data for this period.</Empty>}
      {results.length > 0 && (
        <ul className="bars">
          {results.map((row) => {
            const value = row.dimensions[0] ?? null;
            // Unknown values (no country, no source) cannot be filtered on.
            const filterable = !active && value !== null;
            return (
              <li key={value ?? ""}>
                <button
                  type="button"
                  className="bar-row"
                  disabled={!filterable}
                  title={
                    filterable
                      ? `Filter by ${dimensionLabel(tab.dimension).toLowerCase()} ${displayValue(tab.dimension, value)}`
                      : undefined
                  }
                  onClick={() => value !== null && onFilter({ dimension: tab.dimension, value })}
                >
                  <span className="bar" style={{ width: `${(row.metrics[0] / max) * 100}%` }} aria-hidden="true" />
                  <span className="bar-label">{displayValue(tab.dimension, value)}</span>
                  <span className="bar-value">{formatNumber(row.metrics[0])}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
