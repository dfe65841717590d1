"""Fake Slack, Microsoft Teams and Discord incoming webhooks, and a generic webhook receiver,
as Beacon's notification channels reach them.

Each checks the request the way its service documents it and answers as the service does:
- Slack (POST /slack/<T>/<B>/<token>): JSON with a string `text`, optional Block Kit `blocks`
  of known types with the text objects they need; answers 200 "ok", or 400 "invalid_payload".
- Teams (POST /teams/<path>): JSON `{"type": "message", "attachments": [one Adaptive Card]}`
  with `contentType` application/vnd.microsoft.card.adaptive and an AdaptiveCard of a version;
  answers 202 (as Workflows does), or 400.
- Discord (POST /discord/<id>/<token>): JSON with `content` or up to 10 `embeds` within
  Discord's limits (title 256, description 4096, 25 fields of name 256 and value 1024); answers
  204, or 400 with Discord's `{"code": 50006}`.
- Webhook (POST /webhook/<name>): checked with the reference Standard Webhooks library
  (`standardwebhooks` on PyPI) against each secret the test registered; answers 200.
Every receiver requires `content-type: application/json` and no `authorization` header (the
URL is the credential; a webhook is signed instead).

Control on a second port: GET /_state answers everything received; POST /_status
{"service", "status"} makes a service answer that status; POST /_secrets {"secrets": [...]}
sets the webhook secrets to verify with.

Prints "listening on <hooks port> <control port>".
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

STATE = {"received": [], "status": {}, "secrets": []}
LOCK = threading.Lock()
SLACK_BLOCKS = {"header", "section", "actions", "context", "divider"}


def slack_problem(body):
    if not isinstance(body.get("text"), str) or not body["text"]:
        return "missing text"
    for block in body.get("blocks", []):
        if block.get("type") not in SLACK_BLOCKS:
            return f"unknown block {block.get('type')}"
        if block["type"] == "header" and block.get("text", {}).get("type") != "plain_text":
            return "a header needs plain_text"
        if block["type"] == "section" and "text" not in block and "fields" not in block:
            return "a section needs text or fields"
        for element in block.get("elements", []):
            if element.get("type") == "button" and not element.get("url", "").startswith("http"):
                return "a link button needs a url"
    return None


def teams_problem(body):
    if body.get("type") != "message":
        return "type must be message"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return "one attachment"
    card = attachments[0]
    if card.get("contentType") != "application/vnd.microsoft.card.adaptive":
        return "not an adaptive card"
    content = card.get("content", {})
    if content.get("type") != "AdaptiveCard" or not content.get("version"):
        return "content must be an AdaptiveCard with a version"
    if not isinstance(content.get("body"), list) or not content["body"]:
        return "an empty card"
    return None


def discord_problem(body):
    embeds = body.get("embeds", [])
    if not body.get("content") and not embeds:
        return "content or embeds"
    if len(embeds) > 10:
        return "at most 10 embeds"
    for embed in embeds:
        if len(embed.get("title", "")) > 256 or len(embed.get("description", "")) > 4096:
            return "embed too long"
        fields = embed.get("fields", [])
        if len(fields) > 25:
            return "at most 25 fields"
        for field in fields:
            if not field.get("name") or not field.get("value"):
                return "a field needs name and value"
            if len(field["name"]) > 256 or len(field["value"]) > 1024:
                return "field too long"
    return None


def verified_with(secrets, headers, raw):
    valid = []
    for index, secret in enumerate(secrets):
        try:
            Webhook(secret).verify(raw, {k.lower(): v for k, v in headers.items()})
            valid.append(index)
        except Exception:
            pass
    return valid


class Hooks(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        service = self.path.strip("/").split("/")[0]
        entry = {"service": service, "path": self.path, "problem": None, "headers": {
            name: self.headers.get(name)
            for name in ["content-type", "webhook-id", "webhook-timestamp", "webhook-signature", "authorization"]
        }}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        entry["body"] = body
        if not (self.headers.get("content-type") or "").startswith("application/json"):
            entry["problem"] = "content-type must be application/json"
        elif self.headers.get("authorization"):
            entry["problem"] = "no authorization header is expected"
        elif not isinstance(body, dict):
            entry["problem"] = "not a JSON object"
        elif service == "slack":
            entry["problem"] = slack_problem(body)
        elif service == "teams":
            entry["problem"] = teams_problem(body)
        elif service == "discord":
            entry["problem"] = discord_problem(body)
        elif service == "webhook":
            with LOCK:
                secrets = list(STATE["secrets"])
            entry["verified_with"] = verified_with(secrets, self.headers, raw)
            if not entry["verified_with"]:
                entry["problem"] = "the signature does not verify"
        else:
            entry["problem"] = "unknown service"
        with LOCK:
            STATE["received"].append(entry)
            forced = STATE["status"].get(service)
        if forced:
            status, reply = forced, b""
        elif entry["problem"]:
            status = 400
            reply = json.dumps({"code": 50006, "message": entry["problem"]}).encode() \
                if service == "discord" else b"invalid_payload"
        else:
            status, reply = {"slack": (200, b"ok"), "teams": (202, b""), "discord": (204, b"")}.get(
                service, (200, b""))
        self.send_response(status)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        if reply:
            self.wfile.write(reply)

    def log_message(self, *args):
        pass


class Control(BaseHTTPRequestHandler):
    def do_GET(self):
        with LOCK:
            body = json.dumps(STATE).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        with LOCK:
            if self.path == "/_status":
                STATE["status"][body["service"]] = int(body["status"])
            elif self.path == "/_secrets":
                STATE["secrets"] = list(body["secrets"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    hooks = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    for server in (hooks, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on {hooks.server_address[1]} {control.server_address[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
