// Stats API queries from the dashboard: the request and answer shapes come from the spec
// (`StatsQuery`, `StatsResult`); this file only builds them from the view's state.
import { api, type Schemas, unwrap } from "../api/client";

export type StatsQuery = Schemas["StatsQuery"];
export type StatsResult = Schemas["StatsResult"];

/** One filter of the view: `dimension is value`. */
export interface ViewFilter {
  dimension: string;
  value: string;
}

export function runQuery(body: StatsQuery): Promise<StatsResult> {
  return unwrap(api.POST("/api/v2/query", { body }));
}

/** The Stats API filter expressions for the view's filters (all must hold). */
export function filterExpressions(filters: ViewFilter[]): StatsQuery["filters"] {
  return filters.map((f) => ["is", f.dimension, [f.value]]);
}

/** The date range value for a period name (`realtime` reads today) or `from,to` days. */
export function dateRange(period: string): StatsQuery["date_range"] {
  if (period === "realtime") return "day";
  const days = period.split(",");
  return days.length === 2 ? [days[0], days[1]] : period;
}
