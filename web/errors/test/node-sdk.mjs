// Sends errors with the official @sentry/node SDK, unchanged, to the DSN given: two
// exceptions thrown from the same function (one issue), one from another function (another
// issue), a message sent twice (one issue), and personal data in every place the SDK lets an
// application put it, which Beacon must scrub before storing. Prints the event ids as JSON.
// Called by the Rust test `errors::node_sdk…`.
import * as Sentry from "@sentry/node";

const dsn = process.argv[2];
if (!dsn) {
  console.error("usage: node node-sdk.mjs <dsn>");
  process.exit(2);
}
const ids = {};
// The personal data is assembled at run time: the SDK sends this file's own lines as context,
// and the test must find out whether Beacon stores the data the application sent, not the
// test's source.
const at = (...parts) => parts.join("");
const EMAIL = at("jane.doe", "@", "example.com");
const SECRET = at("hun", "ter2");
const CARD = at("4111 1111", " 1111 1111");
const USER_IP = at("203.0.", "113.7");
const NOTE_IP = at("198.51.", "100.23");
const TOKEN = at("abc123", "secret");
Sentry.init({
  dsn,
  release: process.env.BEACON_TEST_RELEASE ?? "shop-api@2.0.0",
  environment: "test",
  tracesSampleRate: 0,
  sendClientReports: true,
  beforeBreadcrumb: (crumb) => crumb,
});
Sentry.setUser({ id: "user-42", email: EMAIL, ip_address: USER_IP });
Sentry.setTag("tier", "gold");
Sentry.setExtra("payment", { card: CARD, password: SECRET, note: `call ${NOTE_IP}` });
Sentry.addBreadcrumb({ category: "auth", message: `login by ${EMAIL} with token=${TOKEN}` });

function chargeCard(amount) {
  throw new TypeError(`cannot charge ${amount} cents`);
}
function loadCart() {
  throw new RangeError("cart is empty");
}
for (const amount of [100, 250]) {
  try {
    chargeCard(amount);
  } catch (error) {
    ids.charge ??= [];
    ids.charge.push(Sentry.captureException(error));
  }
}
try {
  loadCart();
} catch (error) {
  ids.cart = [Sentry.captureException(error)];
}
ids.message = [
  Sentry.captureMessage("payment provider slow", "warning"),
  Sentry.captureMessage("payment provider slow", "warning"),
];
const flushed = await Sentry.flush(10_000);
console.log(JSON.stringify({ flushed, ids }));
