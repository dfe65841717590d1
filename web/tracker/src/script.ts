// Beacon's tracker: cookieless pageviews and custom events, sent to `POST /api/event`.
//
// Built once per combination of optional modes (see ../build.mjs); the flags below are
// compile-time constants, so a build without a mode carries none of its code. The core build
// must stay at or under 1,000 bytes gzipped: a test fails above that.
//
// Nothing is stored in the browser (no cookie, no localStorage write); the server derives a
// daily-rotating visitor id from the request.

/** Hash routing: `#/path` changes are pageviews, and the fragment is part of the page. */
declare const HASH: boolean;
/** Clicks on links to other hosts send `Outbound Link: Click`. */
declare const OUTBOUND: boolean;
/** Clicks on links to files send `File Download`. */
declare const DOWNLOADS: boolean;
/** Elements with a `beacon-event-name=…` class send that event when clicked. */
declare const TAGGED: boolean;

/** What a custom event may carry. */
interface EventOptions {
  /** Custom properties (at most 30; strings, numbers or booleans). */
  props?: Record<string, string | number | boolean>;
  /** Revenue, e.g. `{ amount: 19.99, currency: "EUR" }`. */
  revenue?: { amount: number | string; currency: string };
  /** `false` for events that must not end a bounce (e.g. a scroll marker). */
  interactive?: boolean;
  /** Another URL than the current page. */
  url?: string;
  /** Called with the HTTP status once sent, or with the reason it was not. */
  callback?: (result: { status?: number; ignored?: string }) => void;
}

type Send = ((name: string, options?: EventOptions) => void) & { q?: IArguments[] };

const win = window as unknown as { beacon?: Send };
const doc = document;
const loc = location;
const script = doc.currentScript as HTMLScriptElement;
const attribute = (name: string) => script.getAttribute(name);
const endpoint = attribute("data-api") || `${script.src.split("/js/")[0]}/api/event`;
const domain = attribute("data-domain") || loc.hostname;

function send(name: string, options: EventOptions = {}): void {
  const ignore = (reason: string) => {
    console.warn(`Beacon ignores this event: ${reason}`);
    options.callback && options.callback({ ignored: reason });
  };
  if (/^localhost$|^127(\.\d+){3}$|^\[::1?\]$/.test(loc.hostname) || loc.protocol === "file:") {
    ignore("localhost");
    return;
  }
  try {
    if (localStorage.beacon_ignore === "true") {
      ignore("opted out");
      return;
    }
  } catch (_) {
    // Storage blocked: no opt-out flag can be set either.
  }
  const body: Record<string, unknown> = {
    n: name,
    u: options.url || loc.href,
    d: domain,
    r: doc.referrer || null,
    p: options.props,
    $: options.revenue,
  };
  if (HASH) body.h = 1;
  if (options.interactive === false) body.i = false;
  const json = JSON.stringify(body);
  if (typeof fetch === "function") {
    fetch(endpoint, {
      method: "POST",
      body: json,
      keepalive: true,
      credentials: "omit",
      headers: { "Content-Type": "text/plain" },
    }).then(
      (response) => options.callback && options.callback({ status: response.status }),
      () => options.callback && options.callback({ status: 0 }),
    );
  } else {
    navigator.sendBeacon(endpoint, json);
  }
}

let lastPage: string | undefined;
function pageview(): void {
  const page = loc.pathname + (HASH ? loc.hash : "");
  if (page === lastPage) return;
  lastPage = page;
  send("pageview");
}

const queued = (win.beacon && win.beacon.q) || [];
win.beacon = send;
for (let i = 0; i < queued.length; i++) send.apply(null, queued[i] as never);

const history_ = history;
const pushState = history_.pushState;
history_.pushState = function (this: History, ...args: Parameters<History["pushState"]>) {
  pushState.apply(this, args);
  pageview();
};
addEventListener("popstate", pageview);
if (HASH) addEventListener("hashchange", pageview);

if (doc.visibilityState === ("prerender" as DocumentVisibilityState)) {
  doc.addEventListener("visibilitychange", () => lastPage || pageview());
} else {
  pageview();
}

if (OUTBOUND || DOWNLOADS || TAGGED) {
  const onClick = (event: MouseEvent) => {
    if (event.type === "auxclick" && event.button !== 1) return;
    const target = event.target as Element;
    const link = target.closest && (target.closest("a[href]") as HTMLAnchorElement | null);
    if (link && (OUTBOUND || DOWNLOADS)) {
      if (OUTBOUND && link.host && link.host !== loc.host) {
        send("Outbound Link: Click", { props: { url: link.href } });
      } else if (
        DOWNLOADS &&
        /\.(pdf|xlsx?|docx?|txt|rtf|csv|exe|key|pp[st]x?|7z|pkg|rar|gz|zip|avi|mov|mp4|mpe?g|wmv|midi?|mp3|wav|wma|dmg|iso|msi)$/i.test(
          link.pathname,
        )
      ) {
        send("File Download", { props: { url: link.href.split(/[?#]/)[0] } });
      }
    }
    const tagged = TAGGED && target.closest && target.closest('[class*="beacon-event-"]');
    if (tagged) {
      let name = "";
      const props: Record<string, string> = {};
      tagged.classList.forEach((token) => {
        const match = token.match(/^beacon-event-(.+)=(.+)$/);
        if (match) {
          const value = match[2].replace(/\+/g, " ");
          if (match[1] === "name") name = value;
          else props[match[1]] = value;
        }
      });
      if (name) send(name, { props });
    }
  };
  doc.addEventListener("click", onClick);
  doc.addEventListener("auxclick", onClick);
}
