// The player's timeline: a range input for the position, with the recording's markers (pages,
// clicks, custom events, errors) drawn on a strip under it in a colour and shape per kind, each
// with its words as a tooltip. The strip is for the mouse; the marker list beside the player is
// the same markers for the keyboard and screen readers.
import { describeMarker, formatClock, MARKER_KINDS, type Marker, markerKind, markerPercent } from "../../lib/replays";

/** The range and its marker strip. `onSeek` gets the chosen moment in milliseconds. */
export function Timeline({
  durationMs,
  currentMs,
  markers,
  disabled,
  onSeek,
}: {
  durationMs: number;
  currentMs: number;
  markers: Marker[];
  disabled?: boolean;
  onSeek: (ms: number) => void;
}) {
  return (
    <div className="replay-timeline">
      <input
        type="range"
        min={0}
        max={Math.max(1, Math.round(durationMs))}
        step={100}
        value={Math.min(Math.round(currentMs), Math.round(durationMs))}
        disabled={disabled}
        aria-label="Position in the recording"
        aria-valuetext={`${formatClock(currentMs)} of ${formatClock(durationMs)}`}
        onChange={(event) => onSeek(Number(event.target.value))}
      />
      <div className="replay-marker-strip" aria-hidden="true">
        {markers.map((marker, i) => (
          <button
            // biome-ignore lint/suspicious/noArrayIndexKey: a recording's markers never change order
            key={i}
            type="button"
            tabIndex={-1}
            className={`replay-marker marker-${markerKind(marker)}`}
            style={{ left: `${markerPercent(marker.offset_ms, durationMs)}%` }}
            title={describeMarker(marker)}
            aria-label={describeMarker(marker)}
            disabled={disabled}
            onClick={() => onSeek(marker.offset_ms)}
          />
        ))}
      </div>
    </div>
  );
}

/** What each marker colour and shape means. */
export function MarkerLegend() {
  return (
    <ul className="replay-legend" aria-label="Timeline markers">
      {MARKER_KINDS.map(({ kind, label }) => (
        <li key={kind}>
          <span className={`replay-marker-swatch marker-${kind}`} aria-hidden="true" /> {label}
        </li>
      ))}
    </ul>
  );
}
