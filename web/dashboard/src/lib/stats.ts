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

/** The shared link this page shows, when it is a visitor's (`/share/…`): its queries go to the
 * link's endpoint with the password grant, if any. */
let sharedLink: { token: string; grant: string | null } | null = null;

/** Sends this page's queries through a shared link (`null`: the signed-in Stats API). */
export function useSharedLinkQueries(link: { token: string; grant: string | null } | null): void {
  sharedLink = link;
}

export function runQuery(body: StatsQuery): Promise<StatsResult> {
  if (sharedLink) {
    const { token, grant } = sharedLink;
    return unwrap(
      api.POST("/api/v1/shared/{token}/query", {
        params: { path: { token }, header: grant ? { "X-Beacon-Share-Grant": grant } : {} },
        body,
      }),
    );
  }
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
