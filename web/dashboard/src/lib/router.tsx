// A small client-side router over the History API: the URL (path and query) is the state of
// every screen, so any view can be shared or reloaded.
import {
  type AnchorHTMLAttributes,
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
} from "react";

interface RouterState {
  path: string;
  search: URLSearchParams;
  navigate: (to: string, options?: { replace?: boolean }) => void;
}

const RouterContext = createContext<RouterState | null>(null);

function current(): { path: string; search: string } {
  return { path: window.location.pathname, search: window.location.search };
}

/**
 * The recorded-page screens: the replay player (`/orgs/:org/projects/:project/replays/:replay`)
 * and the heatmaps (`/orgs/:org/projects/:project/heatmaps`). Both rebuild a recorded page.
 */
const RECORDED_PAGES = [
  /^\/orgs\/[^/]+\/projects\/[^/]+\/replays\/[^/?#]+\/?$/,
  /^\/orgs\/[^/]+\/projects\/[^/]+\/heatmaps\/?$/,
];

/** Whether `path` is one of the recorded-page screens. */
export function isRecordedPage(path: string): boolean {
  return RECORDED_PAGES.some((pattern) => pattern.test(path));
}

/**
 * Whether going from `from` to `to` enters, leaves or changes a recorded-page screen (another
 * recording, or from the player to the heatmaps). Those are full page loads: the server gives
 * these pages a policy of their own (inline styles, for the recorded page they rebuild), and no
 * other screen should run under it. The same path with another query stays in the page.
 */
export function crossesRecordedPage(from: string, to: string): boolean {
  const target = new URL(to, window.location.origin).pathname;
  return target !== from && (isRecordedPage(target) || isRecordedPage(from));
}

/** Full page loads (a seam for tests: jsdom cannot load documents). */
export const documentLoad = {
  assign(to: string): void {
    window.location.assign(to);
  },
};

export function Router({ children }: { children: ReactNode }) {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const onPop = () => setLocation(current());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((to: string, options?: { replace?: boolean }) => {
    if (crossesRecordedPage(window.location.pathname, to)) {
      documentLoad.assign(to);
      return;
    }
    if (options?.replace) window.history.replaceState(null, "", to);
    else window.history.pushState(null, "", to);
    setLocation(current());
    if (!options?.replace) window.scrollTo?.(0, 0);
  }, []);
  const value = useMemo(
    () => ({ path: location.path, search: new URLSearchParams(location.search), navigate }),
    [location, navigate],
  );
  return <RouterContext.Provider value={value}>{children}</RouterContext.Provider>;
}

export function useRouter(): RouterState {
  const state = useContext(RouterContext);
  if (!state) throw new Error("useRouter outside <Router>");
  return state;
}

/** Matches `/orgs/:org/projects/:project` against a path; the named segments, or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i]);
      } catch {
        return null; // a malformed escape: no such page
      }
    } else if (want[i] !== got[i]) return null;
  }
  return params;
}

/** An anchor that navigates without reloading (modifier clicks still open new tabs). */
export function Link({
  to,
  children,
  ...rest
}: { to: string; children: ReactNode } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const { navigate } = useRouter();
  return (
    <a
      href={to}
      {...rest}
      onClick={(event) => {
        rest.onClick?.(event);
        if (
          event.defaultPrevented ||
          event.button !== 0 ||
          event.metaKey ||
          event.ctrlKey ||
          event.shiftKey ||
          event.altKey
        )
          return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
