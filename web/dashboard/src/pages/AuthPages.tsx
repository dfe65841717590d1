// Signing up, in and back: signup, login, e-mail verification, password reset, and
// accepting an invitation. Links in Beacon's e-mails land here.
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from "react";
import { ApiProblem, api, unwrap } from "../api/client";
import { Button, ErrorNote, Field, Loading, useAction } from "../components/ui";
import { CHOSEN_PLAN_KEY } from "../lib/billing";
import { Link, useRouter } from "../lib/router";
import { useSession } from "../lib/session";

function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth">
      <div className="auth-box card">
        <p className="brand" aria-hidden="true">
          <span className="brand-dot" /> Beacon
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** Where to go after signing in: the `next` parameter when it stays on this origin. */
export function nextPath(search: URLSearchParams): string {
  const next = search.get("next");
  if (!next) return "/";
  try {
    const url = new URL(next, window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : "/";
  } catch {
    return "/";
  }
}

/** `?next=…` for a link, when there is somewhere to go back to. */
function withNext(path: string, next: string | null): string {
  return next ? `${path}?next=${encodeURIComponent(next)}` : path;
}

/** Where a sign-up started (an invitation, say), kept across the e-mail round trip. */
const NEXT_KEY = "beacon_next";
function rememberNext(next: string | null): void {
  try {
    if (next) localStorage.setItem(NEXT_KEY, next);
  } catch {
    // Private mode: the user signs in and lands on the start page.
  }
}
function recalledNext(): string | null {
  try {
    return localStorage.getItem(NEXT_KEY);
  } catch {
    return null;
  }
}

export function LoginPage() {
  const { signIn } = useSession();
  const { search, navigate } = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [resent, setResent] = useState(false);
  const action = useAction(async () => {
    await signIn(email, password);
    try {
      localStorage.removeItem(NEXT_KEY);
    } catch {
      // Nothing remembered.
    }
    navigate(nextPath(search), { replace: true });
  });
  const resend = useAction(async () => {
    await unwrap(api.POST("/api/v1/auth/resend-verification", { body: { email } }));
    setResent(true);
  });
  // Single sign-on: the address's domain names the organization and its identity provider.
  const sso = useAction(async () => {
    const started = await unwrap(api.POST("/api/v1/auth/sso/start", { body: { email, return_to: nextPath(search) } }));
    window.location.assign(started.redirect_url);
  });
  // Back from a failed single sign-on: `?sso_error=<type>&sso_detail=…`.
  const ssoFailure = search.get("sso_error")
    ? `Single sign-on failed: ${search.get("sso_detail") ?? search.get("sso_error")}`
    : null;
  const unverified = action.error instanceof ApiProblem && action.error.kind === "email_not_verified";
  const ssoRequired = action.error instanceof ApiProblem && action.error.kind === "sso_required";
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run();
  };
  return (
    <AuthFrame title="Sign in">
      <form onSubmit={submit}>
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorNote error={ssoFailure ?? action.error} />
        {unverified && (
          <p>
            {resent ? (
              "We sent a new link. Check your inbox."
            ) : (
              <Button variant="secondary" busy={resend.busy} onClick={() => void resend.run()}>
                Send the verification link again
              </Button>
            )}
          </p>
        )}
        <ErrorNote error={resend.error} />
        <Button type="submit" busy={action.busy}>
          Sign in
        </Button>
      </form>
      <div className="auth-sso">
        <p className="muted">Your organization uses single sign-on? Enter your e-mail above, then:</p>
        <ErrorNote error={sso.error} />
        <Button
          variant={ssoRequired ? "primary" : "secondary"}
          busy={sso.busy}
          disabled={!email}
          onClick={() => void sso.run()}
        >
          Continue with SSO
        </Button>
      </div>
      <p className="auth-links">
        <Link to={withNext("/signup", search.get("next"))}>Create an account</Link>
        <Link to="/reset-password">Forgot your password?</Link>
      </p>
    </AuthFrame>
  );
}

export function SignupPage() {
  const { search } = useRouter();
  const next = search.get("next");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const action = useAction(async () => {
    await unwrap(api.POST("/api/v1/auth/signup", { body: { email, password } }));
    rememberNext(next);
    // Signing up from a plan on the pricing page: offered again once the organization exists.
    const plan = search.get("plan");
    if (plan) localStorage.setItem(CHOSEN_PLAN_KEY, plan);
    setDone(true);
  });
  if (done) {
    return (
      <AuthFrame title="Check your inbox">
        <p role="status">
          We sent a link to <strong>{email}</strong>. Open it to verify your address, then sign in.
        </p>
        <Link to={withNext("/login", next)}>Back to sign in</Link>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title="Create your account">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void action.run();
        }}
      >
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          hint="8 to 128 characters."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorNote error={action.error} />
        <Button type="submit" busy={action.busy}>
          Create account
        </Button>
      </form>
      <p className="auth-links">
        <Link to={withNext("/login", next)}>I already have an account</Link>
      </p>
    </AuthFrame>
  );
}

export function VerifyEmailPage() {
  const { search } = useRouter();
  const token = search.get("token") ?? "";
  const [state, setState] = useState<"working" | "done" | Error>("working");
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    unwrap(api.POST("/api/v1/auth/verify-email", { body: { token } })).then(
      () => setState("done"),
      (error: Error) => setState(error),
    );
  }, [token]);
  return (
    <AuthFrame title="Verify your e-mail">
      {state === "working" && <Loading label="Verifying…" />}
      {state === "done" && (
        <>
          <p role="status">Your address is verified.</p>
          <Link className="button button-primary" to={withNext("/login", recalledNext())}>
            Sign in
          </Link>
        </>
      )}
      {state instanceof Error && (
        <>
          <ErrorNote error={state} />
          <Link to="/login">Sign in to get a new link</Link>
        </>
      )}
    </AuthFrame>
  );
}

export function ResetPasswordPage() {
  const { search, navigate } = useRouter();
  const token = search.get("token");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [sent, setSent] = useState(false);
  const request = useAction(async () => {
    await unwrap(api.POST("/api/v1/auth/password-reset", { body: { email } }));
    setSent(true);
  });
  const confirm = useAction(async () => {
    await unwrap(api.POST("/api/v1/auth/password-reset/confirm", { body: { token: token ?? "", password } }));
    navigate("/login?reset=1", { replace: true });
  });
  if (token) {
    return (
      <AuthFrame title="Choose a new password">
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void confirm.run();
          }}
        >
          <Field
            label="New password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            hint="8 to 128 characters. Every other session is signed out."
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <ErrorNote error={confirm.error} />
          <Button type="submit" busy={confirm.busy}>
            Set password
          </Button>
        </form>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title="Reset your password">
      {sent ? (
        <p role="status">If an account uses {email}, a reset link is on its way.</p>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void request.run();
          }}
        >
          <Field
            label="Email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
          <ErrorNote error={request.error} />
          <Button type="submit" busy={request.busy}>
            Send reset link
          </Button>
        </form>
      )}
      <p className="auth-links">
        <Link to="/login">Back to sign in</Link>
      </p>
    </AuthFrame>
  );
}

export function AcceptInvitationPage() {
  const { search, navigate, path } = useRouter();
  const { user } = useSession();
  const token = search.get("token") ?? "";
  const action = useAction(async () => {
    const org = await unwrap(api.POST("/api/v1/invitations/accept", { body: { token } }));
    navigate(`/orgs/${org.id}`, { replace: true });
  });
  const here = `${path}?${search.toString()}`;
  if (!user) {
    return (
      <AuthFrame title="You are invited">
        <p>Sign in, or create an account with the address the invitation was sent to.</p>
        <p className="auth-links">
          <Link className="button button-primary" to={`/login?next=${encodeURIComponent(here)}`}>
            Sign in
          </Link>
          <Link to={`/signup?next=${encodeURIComponent(here)}`}>Create an account</Link>
        </p>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title="You are invited">
      <p>
        Join the organization as <strong>{user.email}</strong>.
      </p>
      <ErrorNote error={action.error} />
      <Button busy={action.busy} onClick={() => void action.run()}>
        Accept invitation
      </Button>
    </AuthFrame>
  );
}

/** The unsubscribe link of a report e-mail: no sign-in, one button (a link alone changes nothing,
 * so mail scanners that open links do not unsubscribe anyone). */
export function UnsubscribePage() {
  const { search } = useRouter();
  const token = search.get("token") ?? "";
  const [stopped, setStopped] = useState<{ project?: string | null; cadence?: string | null } | null>(null);
  const stop = useAction(async () => {
    const answer = await unwrap(api.POST("/api/v1/reports/unsubscribe", { params: { query: { token } } }));
    setStopped(answer);
  });
  return (
    <AuthFrame title="Unsubscribe from a Beacon report">
      <ErrorNote error={stop.error} />
      {stopped === null && (
        <Button onClick={() => void stop.run()} busy={stop.busy}>
          Unsubscribe
        </Button>
      )}
      {stopped !== null && (
        <p role="status">
          {stopped.project
            ? `You will no longer receive the ${stopped.cadence} report of ${stopped.project}.`
            : "This subscription had already ended: you receive nothing more from it."}
        </p>
      )}
    </AuthFrame>
  );
}
