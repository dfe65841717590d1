// The main graph: uPlot (about 20 KB gzipped, fast on thousands of points), sized to its
// container and re-themed when the colour scheme changes. The box records the width and scheme
// it was last drawn for (`data-width`, `data-theme`), which the end-to-end test waits on before
// a screenshot.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { isDark } from "../lib/theme";

export interface Series {
  labels: string[];
  values: number[];
  previous?: number[];
}

const NO_GUIDES: Guide[] = [];

/** Axis steps for whole-number metrics (uPlot would otherwise label 0.2, 0.4, …). */
const WHOLE_STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7,
];

/** A moment marked on the x axis (an annotation), at the index of its time bucket. */
export interface Marker {
  index: number;
  label: string;
}

const NO_MARKERS: Marker[] = [];

/** A uPlot plugin drawing each marker as a vertical line across the plot. */
function markerPlugin(markers: Marker[], colour: string): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.strokeStyle = colour;
        ctx.lineWidth = 2 * devicePixelRatio;
        ctx.setLineDash([2 * devicePixelRatio, 3 * devicePixelRatio]);
        for (const marker of markers) {
          const x = Math.round(u.valToPos(marker.index, "x", true));
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

/** A dashed line beside the data: an alert's threshold, or an edge of an expected band. */
export interface Guide {
  label: string;
  values: (number | null)[];
}

const GUIDE_COLOURS = ["#d97706", "#dc2626", "#059669"];

export function LineChart({
  data,
  label,
  format,
  whole,
  guides = NO_GUIDES,
  markers = NO_MARKERS,
}: {
  data: Series;
  label: string;
  format: (value: number) => string;
  whole: boolean;
  guides?: Guide[];
  /** Annotations, drawn as dotted vertical lines (the caller lists them in text too). */
  markers?: Marker[];
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    let chart: uPlot | null = null;
    const draw = () => {
      chart?.destroy();
      const dark = isDark();
      const ink = dark ? "#cbd5e1" : "#334155";
      const grid = dark ? "#334155" : "#e2e8f0";
      const xs = data.labels.map((_, index) => index);
      const series: uPlot.Series[] = [
        { label: "Time", value: (_u, v) => (v == null ? "–" : (data.labels[v] ?? "")) },
        {
          label,
          stroke: "#6366f1",
          width: 2,
          fill: dark ? "rgba(99,102,241,0.18)" : "rgba(99,102,241,0.10)",
          value: (_u, v) => (v == null ? "–" : format(v)),
        },
      ];
      const columns: uPlot.AlignedData = [xs, data.values];
      if (data.previous) {
        series.push({
          label: "Previous period",
          stroke: dark ? "#64748b" : "#94a3b8",
          width: 1,
          dash: [4, 4],
          value: (_u, v) => (v == null ? "–" : format(v)),
        });
        (columns as (number | null)[][]).push(data.previous);
      }
      guides.forEach((guide, index) => {
        series.push({
          label: guide.label,
          stroke: GUIDE_COLOURS[index % GUIDE_COLOURS.length],
          width: 1,
          dash: [6, 3],
          value: (_u, v) => (v == null ? "–" : format(v)),
        });
        (columns as (number | null)[][]).push(guide.values);
      });
      const width = Math.max(element.clientWidth, 280);
      chart = new uPlot(
        {
          width,
          height: 240,
          series,
          legend: { show: true },
          plugins: markers.length > 0 ? [markerPlugin(markers, dark ? "#fbbf24" : "#b45309")] : [],
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
          axes: [
            {
              stroke: ink,
              grid: { stroke: grid },
              ticks: { stroke: grid },
              values: (_u, splits) => splits.map((i) => data.labels[Math.round(i)] ?? ""),
            },
            {
              stroke: ink,
              grid: { stroke: grid },
              ticks: { stroke: grid },
              values: (_u, splits) => splits.map((v) => format(v)),
              size: 60,
              ...(whole ? { incrs: WHOLE_STEPS } : {}),
            },
          ],
        },
        columns,
        element,
      );
      element.dataset.width = String(width);
      element.dataset.theme = dark ? "dark" : "light";
    };
    draw();
    const resize = new ResizeObserver(() => {
      const width = Math.max(element.clientWidth, 280);
      chart?.setSize({ width, height: 240 });
      element.dataset.width = String(width);
    });
    resize.observe(element);
    const media = window.matchMedia?.("(prefers-color-scheme: dark)");
    media?.addEventListener("change", draw);
    window.addEventListener("beacon-theme", draw);
    return () => {
      resize.disconnect();
      media?.removeEventListener("change", draw);
      window.removeEventListener("beacon-theme", draw);
      chart?.destroy();
    };
  }, [data, label, format, whole, guides, markers]);
  return (
    <div
      ref={box}
      className="chart"
      role="img"
      aria-label={`${label} over time`}
      data-markers={markers.map((m) => m.index).join(",")}
    />
  );
}
