// Who is signed in. The session cookie is HttpOnly; on load the app asks
// `GET /api/v1/auth/session` for the user and the CSRF token its writes must send.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useRef, useState } from "react";
import { api, onSessionChanged, onUnauthorized, type Schemas, setCsrfToken, unwrap } from "../api/client";

interface SessionState {
  user: Schemas["UserOut"] | null;
  /** True until the first check of the cookie has answered. */
  checking: boolean;
  signIn: (email: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<Schemas["UserOut"] | null>(null);
  const [checking, setChecking] = useState(true);
  // Bumped by signing in, so a slow first check cannot overwrite a fresh sign-in.
  const generation = useRef(0);

  useEffect(() => {
    const started = generation.current;
    // Not through `unwrap`: a 401 here just means "not signed in", not "signed out".
    api
      .GET("/api/v1/auth/session")
      .then(({ data }) => {
        if (generation.current !== started) return;
        setCsrfToken(data?.csrf_token ?? null);
        setUser(data?.user ?? null);
      })
      .catch(() => {
        if (generation.current === started) setUser(null);
      })
      .finally(() => setChecking(false));
    const stopUnauthorized = onUnauthorized(() => {
      setCsrfToken(null);
      setUser(null);
    });
    const stopChanged = onSessionChanged(setUser);
    return () => {
      stopUnauthorized();
      stopChanged();
    };
  }, []);

  const signIn = useCallback(async (email: string, password: string) => {
    generation.current += 1;
    const session = await unwrap(api.POST("/api/v1/auth/login", { body: { email, password } }));
    setCsrfToken(session.csrf_token);
    setUser(session.user);
  }, []);

  const signOut = useCallback(async () => {
    try {
      await unwrap(api.POST("/api/v1/auth/logout"));
    } finally {
      setCsrfToken(null);
      setUser(null);
    }
  }, []);

  return <SessionContext.Provider value={{ user, checking, signIn, signOut }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error("useSession outside <SessionProvider>");
  return state;
}
