// Entry point: mounts the app with its router and session.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Router } from "./lib/router";
import { SessionProvider } from "./lib/session";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <ErrorBoundary>
        <Router>
          <SessionProvider>
            <App />
          </SessionProvider>
        </Router>
      </ErrorBoundary>
    </StrictMode>,
  );
}
