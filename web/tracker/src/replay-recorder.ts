// Beacon's session recorder, loaded by replay.js (never directly) once the project's settings
// said to record this page load; it reads them from `window.__beaconReplay`. It records the
// page with rrweb (@rrweb/record) and uploads the events in chunks to `POST /api/replay`.
//
// Private by default: every input value and every text is masked in the browser (each
// non-whitespace character becomes `*`), except text inside the project's `unmask_selector`;
// a project that turned `mask_all_text` off has only `.beacon-mask` elements' text masked.
// `.beacon-block` elements and the project's `block_selector` are left out entirely (an empty
// box of the same size). No canvas, fonts,
// images, iframes of other origins, network or console. The session id lives in memory only:
// nothing is written to cookies or storage, so each full page load is a new session, while a
// single-page app's navigations continue it.
//
// Chunks carry a sequence number and stay queued until Beacon answers 2xx; a network error,
// 429 or 5xx is retried in order at the next flush (at most 5 attempts), and any other 4xx
// (such as a reached replay limit) stops recording. Recording also stops after
// `max_duration_s` or before `max_bytes` uploaded bytes would be exceeded.
import { record } from "@rrweb/record";

/** The project's replay settings, from `GET /api/replay/config`. */
interface Config {
  mask_all_text: boolean;
  unmask_selector: string | null;
  block_selector: string | null;
  max_duration_s: number;
  max_bytes: number;
}

/** A request body: bytes rather than a Blob, so the browser's developer tools show it. */
type Bytes = Uint8Array<ArrayBuffer>;

/** A cut of the event buffer, queued until Beacon acknowledged it. */
interface Chunk {
  /** Its sequence number in the session, from 0. */
  n: number;
  /** `JSON.stringify(events)`, UTF-8. */
  json: Bytes;
  /** The gzipped JSON (the JSON itself where the browser cannot compress). */
  body: Promise<Bytes>;
  /** `body` once it resolved. */
  ready?: Bytes;
  tries: number;
}

/** keepalive's requests may carry at most 64 KiB in flight. */
const KEEPALIVE_MAX = 60000;
const FLUSH_MS = 5000;
const MAX_TRIES = 5;

const handoff = (window as unknown as { __beaconReplay?: { origin: string; domain: string; config: Config } })
  .__beaconReplay;

/** A random UUID v4 (randomUUID exists only in secure contexts). */
function uuid(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => (byte + 256).toString(16).slice(1)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The selector if the browser can parse it, else undefined (a bad one would break rrweb). */
function valid(selector: string | null | undefined): string | undefined {
  if (!selector) return undefined;
  try {
    document.querySelector(selector);
    return selector;
  } catch {
    return undefined;
  }
}

/** The JSON gzipped with CompressionStream, or as it is where that is missing or fails. */
function gzip(json: Bytes): Promise<Bytes> {
  if (typeof CompressionStream !== "function") return Promise.resolve(json);
  try {
    return new Response(new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer().then(
      (buffer) => new Uint8Array(buffer),
      () => json,
    );
  } catch {
    return Promise.resolve(json);
  }
}

function start(origin: string, domain: string, config: Config): void {
  const session = uuid();
  const unmask = valid(config.unmask_selector);
  let events: unknown[] = [];
  const queue: Chunk[] = [];
  let seq = 0;
  /** Bytes of the chunks sent so far (each counted once, at its first attempt). */
  let spent = 0;
  /** True while the queue is being sent in order. */
  let busy = false;
  /** Set once a limit or an answer ended the session: nothing more is sent. */
  let dead = false;
  let stopRecording: (() => void) | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let href = location.href;

  /** Stops rrweb; what it recorded is still uploaded. */
  function stop(): void {
    const stopped = stopRecording;
    stopRecording = undefined;
    stopped?.();
  }

  /** Stops everything and forgets what was not sent. */
  function end(): void {
    dead = true;
    stop();
    events = [];
    queue.length = 0;
    clearInterval(timer);
  }

  /** Sends one chunk: true when Beacon acknowledged it, false to retry it later. */
  async function post(chunk: Chunk, leaving: boolean): Promise<boolean> {
    // Leaving the page: the JSON as it is when it has not been compressed yet and fits keepalive.
    const body = chunk.ready || (leaving && chunk.json.byteLength < KEEPALIVE_MAX ? chunk.json : await chunk.body);
    if (dead) return false;
    if (!chunk.tries) {
      if (spent + body.byteLength > config.max_bytes) {
        end();
        return false;
      }
      spent += body.byteLength;
    }
    chunk.tries++;
    const url = `${origin}/api/replay?d=${encodeURIComponent(domain)}&s=${session}&n=${chunk.n}`;
    let status = 0;
    try {
      const response = await fetch(url, {
        method: "POST",
        body,
        headers: { "Content-Type": "text/plain" },
        credentials: "omit",
        keepalive: body.byteLength < KEEPALIVE_MAX,
      });
      status = response.status;
    } catch {
      // A network error: retried.
    }
    if (status >= 200 && status < 300) {
      const at = queue.indexOf(chunk);
      if (at !== -1) queue.splice(at, 1);
      return true;
    }
    if (status && status !== 429 && status < 500) {
      // Refused (a reached replay limit answers 413 or 409 `…replay_limit_reached`): stop.
      end();
    } else if (chunk.tries >= MAX_TRIES) {
      const at = queue.indexOf(chunk);
      if (at !== -1) queue.splice(at, 1);
    }
    return false;
  }

  /** Sends the queue in order, stopping at the first chunk that is not acknowledged. */
  async function pump(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      while (queue.length && !dead && (await post(queue[0], false))) {}
    } finally {
      busy = false;
    }
  }

  /** Cuts the buffered events into a chunk and sends what is queued. */
  function flush(leaving: boolean): void {
    if (dead) return;
    if (events.length) {
      const json = new TextEncoder().encode(JSON.stringify(events));
      events = [];
      const chunk: Chunk = { n: seq++, json, body: gzip(json), tries: 0 };
      chunk.body.then((bytes) => {
        chunk.ready = bytes;
      });
      queue.push(chunk);
    }
    if (leaving) {
      // The page may be gone before an ordered send could finish: everything at once, with
      // keepalive (Beacon ignores a chunk it already stored).
      for (const chunk of queue.slice()) post(chunk, true).catch(() => {});
    } else {
      pump().catch(() => {});
    }
    if (!stopRecording && !queue.length) clearInterval(timer);
  }

  /** `url` without its query and fragment. */
  function bare(url: string): string {
    return url.replace(/[?#].*$/, "");
  }

  /** A single-page app's navigation: a `pageview` custom event when the URL changed. */
  function navigated(): void {
    if (!stopRecording || location.href === href) return;
    href = location.href;
    try {
      record.addCustomEvent("pageview", { href: bare(href) });
    } catch {
      // rrweb has not started yet (it waits for the load event).
    }
  }

  const maskAll = config.mask_all_text !== false;
  stopRecording = record({
    emit: (event) => {
      // A page's address without its query and fragment (tokens, e-mail addresses).
      if (event.type === 4) event.data.href = bare(event.data.href);
      events.push(event);
    },
    maskAllInputs: true,
    maskTextClass: "beacon-mask",
    maskTextSelector: maskAll ? "*" : undefined,
    // rrweb calls it for each text to mask with the text node's parent element (rrweb 2.x).
    maskTextFn: (text, element) =>
      unmask && element?.closest(unmask) && !element.closest(".beacon-mask") ? text : text.replace(/\S/g, "*"),
    blockClass: "beacon-block",
    // Hidden inputs (tokens, identifiers) are never recorded: rrweb masks typed input values,
    // not hidden ones, and nothing of them is visible anyway.
    blockSelector: ["input[type=hidden]", valid(config.block_selector)].filter(Boolean).join(","),
    recordCanvas: false,
    recordCrossOriginIframes: false,
    collectFonts: false,
    inlineImages: false,
    // An error inside rrweb's listeners stays inside: the page is not disturbed.
    errorHandler: () => true,
  });
  if (!stopRecording) return;

  timer = setInterval(() => flush(false), FLUSH_MS);
  // setTimeout takes at most 2^31 - 1 ms (about 24 days).
  setTimeout(
    () => {
      stop();
      flush(false);
    },
    Math.min(config.max_duration_s * 1000, 2 ** 31 - 1),
  );
  const history_ = history;
  for (const name of ["pushState", "replaceState"] as const) {
    const original = history_[name];
    history_[name] = function (this: History, ...args: Parameters<History["pushState"]>) {
      original.apply(this, args);
      navigated();
    };
  }
  addEventListener("popstate", navigated);
  addEventListener("hashchange", navigated);
  document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && flush(false));
  addEventListener("pagehide", () => flush(true));
}

try {
  const config = handoff?.config;
  if (handoff && config && typeof config.max_duration_s === "number" && typeof config.max_bytes === "number") {
    start(handoff.origin, handoff.domain, config);
  }
} catch {
  // Never into the page.
}
