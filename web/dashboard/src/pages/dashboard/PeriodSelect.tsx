// The period menu of a dashboard's toolbar: the named periods (with Realtime where the view
// has a live stream), and a fixed range of days when the URL names one.
import { isCustomPeriod, PERIODS } from "./viewState";

export function PeriodSelect({
  value,
  onChange,
  realtime = false,
}: {
  value: string;
  onChange: (period: string) => void;
  realtime?: boolean;
}) {
  return (
    <label className="period">
      <span className="visually-hidden">Date range</span>
      <select value={value} onChange={(event) => onChange(event.target.value)}>
        {isCustomPeriod(value) && <option value={value}>{value.replace(",", " – ")}</option>}
        {PERIODS.filter((p) => realtime || p.value !== "realtime").map((p) => (
          <option key={p.value} value={p.value}>
            {p.label}
          </option>
        ))}
      </select>
    </label>
  );
}
