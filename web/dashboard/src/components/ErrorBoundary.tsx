// The last line of defence: a rendering error shows a message with a way back, not a blank
// page.
import { Component, type ErrorInfo, type ReactNode } from "react";

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("dashboard error", error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <main className="auth">
        <div className="auth-box card" role="alert">
          <h1>Something went wrong</h1>
          <p>This page could not be shown ({this.state.error.message}).</p>
          <a className="button button-primary" href="/">
            Back to the start
          </a>
        </div>
      </main>
    );
  }
}
