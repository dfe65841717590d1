// The widget grid, loaded only when a custom dashboard is opened (react-grid-layout is kept
// out of the first page's JavaScript). Twelve columns; on a phone one column, in order, with
// dragging and resizing off. Widgets move by their title bar, resize by the corner.
import type { ReactNode } from "react";
import { GridLayout, type Layout, useContainerWidth, verticalCompactor } from "react-grid-layout";
import "react-grid-layout/css/styles.css";

export interface Place {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Narrower than this, the grid is one column. */
const PHONE = 640;

export default function BoardGrid({
  places,
  editing,
  onPlaces,
  render,
}: {
  places: Place[];
  editing: boolean;
  onPlaces: (places: Place[]) => void;
  render: (id: string) => ReactNode;
}) {
  const { width, containerRef, mounted } = useContainerWidth();
  const phone = mounted && width < PHONE;
  if (phone) {
    const ordered = [...places].sort((a, b) => a.y - b.y || a.x - b.x);
    return (
      <div ref={containerRef} className="board-column">
        {ordered.map((place) => (
          <div key={place.id} className="board-cell" style={{ minHeight: `${place.h * 48}px` }}>
            {render(place.id)}
          </div>
        ))}
      </div>
    );
  }
  const layout: Layout = places.map((p) => ({ i: p.id, x: p.x, y: p.y, w: p.w, h: p.h, minW: 2, minH: 2 }));
  return (
    <div ref={containerRef} className="board-grid" data-editing={editing ? "true" : "false"}>
      {mounted && (
        <GridLayout
          width={width}
          layout={layout}
          gridConfig={{ cols: 12, rowHeight: 40, margin: [12, 12] }}
          dragConfig={{ enabled: editing, handle: ".widget-handle", cancel: "button, a, input, select, textarea" }}
          resizeConfig={{ enabled: editing }}
          compactor={verticalCompactor}
          onLayoutChange={(next) => {
            if (!editing) return;
            const moved = next.map((item) => ({ id: item.i, x: item.x, y: item.y, w: item.w, h: item.h }));
            const same = moved.every((m) =>
              places.some((p) => p.id === m.id && p.x === m.x && p.y === m.y && p.w === m.w && p.h === m.h),
            );
            if (!same) onPlaces(moved);
          }}
        >
          {places.map((place) => (
            <div key={place.id} className="board-cell" data-widget={place.id}>
              {render(place.id)}
            </div>
          ))}
        </GridLayout>
      )}
    </div>
  );
}
