// A dashboard query for the view's period that starts beside the page's totals instead of
// after them.
//
// The totals send the period by name (`"30d"`) and the server resolves it to days by its own
// clock, in the project's time zone. A panel that waited for the totals' answer to learn those
// days started a round trip late; this one sends the name too, at once. Every answer echoes
// the days it covers. Should the panel's days differ from the totals' (the day turned between
// the two requests, at midnight in the project's time zone), the panel asks again for the
// totals' days, so every figure on the page covers the same days.
import { useEffect, useState } from "react";
import { dateRange, runQuery, type StatsQuery, type StatsResult } from "./stats";
import { useAsync } from "./useAsync";

/** The answer to the query as it is now (never one for an earlier period or tab). */
export interface PeriodAnswer {
  /** The answer to `request`; undefined while it loads (or failed). */
  result?: StatsResult;
  error?: Error;
  /** The query sent, with the date range it used. */
  request: StatsQuery;
}

/**
 * Runs `query` over `period` (a view's period name or `from,to`), again when `refresh` changes.
 * `resolved` is the days the page's totals were answered for, once they are in.
 */
export function usePeriodQuery(
  query: Omit<StatsQuery, "date_range">,
  period: string,
  resolved: [string, string] | undefined,
  refresh = 0,
): PeriodAnswer {
  const named = JSON.stringify(dateRange(period));
  const [pinned, setPinned] = useState<{ named: string; range: [string, string] }>();
  const dates = pinned?.named === named ? pinned.range : (JSON.parse(named) as StatsQuery["date_range"]);
  // The query as a string, so the load depends on what it says, not on object identity.
  const request = JSON.stringify({ ...query, date_range: dates });
  const answer = useAsync(async () => ({ request, result: await runQuery(JSON.parse(request)) }), [request, refresh]);
  const result = answer.data?.request === request ? answer.data.result : undefined;
  const [from, to] = resolved ?? [];
  const answered = result?.query.date_range;
  const differs = from !== undefined && answered !== undefined && (answered[0] !== from || answered[1] !== to);
  useEffect(() => {
    if (differs && from !== undefined && to !== undefined) setPinned({ named, range: [from, to] });
  }, [differs, named, from, to]);
  return { result, error: answer.error, request: JSON.parse(request) };
}
