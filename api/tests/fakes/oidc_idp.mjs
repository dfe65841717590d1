// A scriptable OpenID Connect provider for Beacon's negative sign-in tests, on Node's own
// http and crypto (no packages). It serves discovery, its keys, an authorization endpoint that
// sends the browser straight back with a code, and a token endpoint that checks the client's
// secret and the PKCE verifier, then answers an ID token shaped by the current mode:
//   good, wrong_nonce, wrong_issuer, wrong_audience, expired, unsigned, foreign_key,
//   no_email, unverified_email, other_domain
// `POST /_mode` with `{"mode": …, "email": …, "groups": […], "sub": …}` sets what comes next.
// Prints `listening on <port>` first; the issuer is `http://127.0.0.1:<port>`.
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer } from "node:http";

const [clientId = "beacon", clientSecret = "s3cret"] = process.argv.slice(2);
const key = generateKeyPairSync("rsa", { modulusLength: 2048 });
const foreign = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...key.publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" };
let scenario = { mode: "good", email: "ann@acme.test", groups: [], sub: "sub-ann" };
const codes = new Map();
let issuer = "";

const b64url = (data) => Buffer.from(data).toString("base64url");
function jwt(claims, { alg = "RS256", signer = key.privateKey } = {}) {
  const head = b64url(JSON.stringify({ alg, kid: "k1", typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  if (alg === "none") return `${head}.${body}.`;
  return `${head}.${body}.${sign("sha256", Buffer.from(`${head}.${body}`), signer).toString("base64url")}`;
}

function idToken(grant) {
  const now = Math.floor(Date.now() / 1000);
  const { mode } = scenario;
  const claims = {
    iss: mode === "wrong_issuer" ? "http://evil.example" : issuer,
    aud: mode === "wrong_audience" ? "someone-else" : clientId,
    sub: scenario.sub,
    iat: now - 10,
    exp: mode === "expired" ? now - 3600 : now + 300,
    nonce: mode === "wrong_nonce" ? "not-the-nonce" : grant.nonce,
    email: mode === "other_domain" ? "ann@elsewhere.test" : scenario.email,
    email_verified: mode !== "unverified_email",
    groups: scenario.groups,
  };
  if (mode === "no_email") delete claims.email;
  if (mode === "unsigned") return jwt(claims, { alg: "none" });
  if (mode === "foreign_key") return jwt(claims, { signer: foreign.privateKey });
  return jwt(claims);
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

const server = createServer((req, res) => {
  const url = new URL(req.url, issuer);
  let raw = "";
  req.on("data", (chunk) => {
    raw += chunk;
  });
  req.on("end", () => {
    if (url.pathname === "/.well-known/openid-configuration") {
      return send(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
    }
    if (url.pathname === "/jwks") return send(res, 200, { keys: [jwk] });
    if (url.pathname === "/_mode" && req.method === "POST") {
      scenario = { ...scenario, ...JSON.parse(raw) };
      return send(res, 200, scenario);
    }
    if (url.pathname === "/authorize") {
      const q = url.searchParams;
      const code = randomBytes(16).toString("hex");
      codes.set(code, {
        nonce: q.get("nonce"),
        challenge: q.get("code_challenge"),
        method: q.get("code_challenge_method"),
        redirect: q.get("redirect_uri"),
        clientId: q.get("client_id"),
        scope: q.get("scope"),
      });
      const back = new URL(q.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state"));
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === "/token" && req.method === "POST") {
      const form = new URLSearchParams(raw);
      const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString(
        "base64",
      );
      if (req.headers.authorization !== `Basic ${basic}`) {
        return send(res, 401, { error: "invalid_client" });
      }
      const grant = codes.get(form.get("code"));
      codes.delete(form.get("code"));
      if (!grant) return send(res, 400, { error: "invalid_grant", error_description: "unknown code" });
      const verifier = form.get("code_verifier") ?? "";
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      if (grant.method !== "S256" || challenge !== grant.challenge) {
        return send(res, 400, { error: "invalid_grant", error_description: "PKCE verifier mismatch" });
      }
      if (form.get("redirect_uri") !== grant.redirect) {
        return send(res, 400, { error: "invalid_grant", error_description: "redirect_uri mismatch" });
      }
      return send(res, 200, {
        access_token: randomBytes(16).toString("hex"),
        token_type: "Bearer",
        expires_in: 300,
        id_token: idToken(grant),
      });
    }
    send(res, 404, { error: "not_found" });
  });
});

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  process.stdout.write(`listening on ${port}\n`);
});
