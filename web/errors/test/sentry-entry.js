// The parts of the official @sentry/browser the test page uses, bundled into one script
// (npm ships no browser-ready bundle, and the CDN is not reachable here).
export { captureException, captureMessage, flush, init, setTag, setUser } from "@sentry/browser";
