// Saving what the API answers as a file the browser downloads: a GET link works by itself
// (`<a href download>`); a POST export (every row of a Stats API query) is fetched as a blob
// with the session and CSRF token, then saved under its name.
import { api, unwrap } from "../api/client";
import type { StatsQuery } from "./stats";

/** Saves `blob` as a download named `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Downloads every row of `query` (its page limit does not apply) as CSV. */
export async function downloadCsv(query: StatsQuery, name: string): Promise<void> {
  const blob = await unwrap(
    api.POST("/api/v2/query/export", { params: { query: { format: "csv" } }, body: query, parseAs: "blob" }),
  );
  saveBlob(blob as Blob, name);
}
