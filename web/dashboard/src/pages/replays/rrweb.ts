// The rrweb player (`@rrweb/replay`, MIT) and its stylesheet. Only the player page imports this
// module, and only dynamically: about 57 KB gzipped that the first page load never pays for
// (`budget.mjs` counts index.html's scripts and their static imports).
import "@rrweb/replay/dist/style.css";
import { Replayer } from "@rrweb/replay";
import type { ReplayEvent } from "../../lib/replays";

export type { Replayer };

/**
 * A player drawing `events` into `root`. The replayed page is rebuilt in an iframe sandboxed
 * to `allow-same-origin` only (rrweb's default): none of its scripts run, and the dashboard can
 * read its document. No canvas replay (it would need scripts), no mouse trail.
 */
export function createReplayer(
  root: HTMLElement,
  events: ReplayEvent[],
  options: { speed: number; skipInactive: boolean },
): Replayer {
  const replayer = new Replayer(events as unknown as ConstructorParameters<typeof Replayer>[0], {
    root,
    mouseTail: false,
    UNSAFE_replayCanvas: false,
    speed: options.speed,
    skipInactive: options.skipInactive,
    // Recordings are masked: focusing a rebuilt field would only move the page under the viewer.
    triggerFocus: false,
    showWarning: false,
  });
  replayer.iframe.title = "The visitor's page as recorded";
  replayer.iframe.tabIndex = -1;
  return replayer;
}
