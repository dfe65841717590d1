// The view's filters as chips, each with a button removing it; a segment is shown by the
// Segment menu instead, so it has no chip.
import type { ViewFilter } from "../../lib/stats";
import { dimensionLabel } from "./viewState";

export function FilterChips({ filters, onRemove }: { filters: ViewFilter[]; onRemove: (dimension: string) => void }) {
  const shown = filters.filter((f) => f.dimension !== "segment");
  if (shown.length === 0) return null;
  return (
    <ul className="filters" aria-label="Filters">
      {shown.map((filter) => (
        <li key={filter.dimension} className="chip">
          {dimensionLabel(filter.dimension)} is <strong>{filter.value || "(none)"}</strong>
          <button
            type="button"
            aria-label={`Remove filter ${dimensionLabel(filter.dimension)}`}
            onClick={() => onRemove(filter.dimension)}
          >
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
