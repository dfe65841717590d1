#!/usr/bin/env python3
"""A fake Stripe for Beacon's tests: the part of Stripe's API Beacon calls, on its wire format.

Requests are form-encoded (`a[b][0]=c`) with `Authorization: Bearer <secret key>`; answers are
Stripe's JSON objects with the fields Beacon reads (and Stripe's error shape). Covered:
customers (create with Idempotency-Key replay, retrieve), prices (list by lookup key),
Checkout Sessions (create; a hosted page whose "Pay" creates the subscription and its paid
invoice, posts a signed `checkout.session.completed` to Beacon and redirects to the success
URL), Customer Portal sessions, subscriptions (retrieve), invoices (list), billing meter events
(create; one per identifier). Webhooks are signed exactly as Stripe signs them:
`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.

Not covered: payment methods, the Portal's own pages (a link back only), proration, taxes,
API versions.

Test controls (not Stripe's): `POST /_fake/subscriptions/<id>` with JSON
`{"status": …, "lookup_key": …, "send": "<event type>"}` changes a subscription and optionally
sends that event; `POST /_fake/events` with `{"type": …, "object": {…}}` sends any event;
`GET /_fake/state` answers everything stored and every request received.

`POST /_fake/config` with `{"webhook_url": …}` sets where events go (when Beacon's port is known
only after the fake started).

Usage: stripe.py --secret-key sk_test_… --webhook-secret whsec_… [--webhook-url URL]
Prints `listening on <port>` once ready (port 0 picks a free one).
"""

import argparse
import hashlib
import hmac
import html
import itertools
import json
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
IDS = itertools.count(1)
STATE = {
    "customers": {},
    "sessions": {},
    "subscriptions": {},
    "invoices": {},
    "meter_events": {},
    "portal_sessions": {},
    "idempotent": {},
    "requests": [],
    "webhooks": [],
}
PRICES = {}  # lookup key -> price object
ARGS = None


def new_id(prefix):
    return f"{prefix}_{next(IDS):06d}"


def parse_form(body):
    """Stripe's form encoding (`a[b][0]=c`) into nested dicts and lists."""
    out = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return lists(out)


def lists(node):
    if isinstance(node, dict):
        node = {k: lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def price(lookup_key):
    if lookup_key not in PRICES:
        interval = "year" if lookup_key.endswith("_year") else "month"
        PRICES[lookup_key] = {
            "id": "price_" + lookup_key,
            "object": "price",
            "active": True,
            "lookup_key": lookup_key,
            "recurring": {"interval": interval},
            "currency": "usd",
        }
    return PRICES[lookup_key]


def price_by_id(price_id):
    for p in PRICES.values():
        if p["id"] == price_id:
            return p
    return None


def subscription_object(customer, lookup_key, status, org_id, trial_days=None):
    now = int(time.time())
    period_end = now + (365 if lookup_key.endswith("_year") else 30) * 86400
    sub = {
        "id": new_id("sub"),
        "object": "subscription",
        "customer": customer,
        "status": status,
        "metadata": {"org_id": org_id} if org_id else {},
        "cancel_at_period_end": False,
        "trial_end": now + trial_days * 86400 if trial_days else None,
        "created": now,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": new_id("si"),
                    "object": "subscription_item",
                    "price": price(lookup_key),
                    "current_period_start": now,
                    "current_period_end": period_end,
                }
            ],
        },
    }
    STATE["subscriptions"][sub["id"]] = sub
    return sub


def sign(payload, secret, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def send_event(event_type, obj):
    event = {
        "id": new_id("evt"),
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }
    payload = json.dumps(event)
    request = urllib.request.Request(
        ARGS.webhook_url,
        data=payload.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, ARGS.webhook_secret),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read().decode()
    STATE["webhooks"].append({"event": event, "status": status, "answer": answer})
    return status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, body, content_type="application/json", headers=()):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message, code=None):
        self.answer(status, {"error": {"type": "invalid_request_error", "message": message, "code": code}})

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def do_GET(self):
        self.route("GET", "")

    def do_POST(self):
        self.route("POST", self.read_body())

    def route(self, method, body):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, url.query
        with LOCK:
            if path.startswith("/v1/"):
                STATE["requests"].append(
                    {
                        "method": method,
                        "path": path,
                        "query": query,
                        "body": body,
                        "idempotency_key": self.headers.get("Idempotency-Key"),
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                if self.headers.get("Authorization") != f"Bearer {ARGS.secret_key}":
                    return self.error(401, "Invalid API Key provided")
                key = self.headers.get("Idempotency-Key")
                if method == "POST" and key and key in STATE["idempotent"]:
                    return self.answer(200, STATE["idempotent"][key])
                form = parse_form(body if method == "POST" else query)
                status, answer = self.api(method, path, form)
                if method == "POST" and key and status == 200:
                    STATE["idempotent"][key] = answer
                if status != 200:
                    return self.error(status, answer)
                return self.answer(200, answer)
        return self.pages(method, path, body)

    def api(self, method, path, form):
        parts = path.strip("/").split("/")[1:]
        if method == "POST" and parts == ["customers"]:
            customer = {
                "id": new_id("cus"),
                "object": "customer",
                "email": form.get("email"),
                "name": form.get("name"),
                "metadata": form.get("metadata", {}),
            }
            STATE["customers"][customer["id"]] = customer
            return 200, customer
        if method == "GET" and len(parts) == 2 and parts[0] == "customers":
            customer = STATE["customers"].get(parts[1])
            return (200, customer) if customer else (404, "No such customer")
        if method == "GET" and parts == ["prices"]:
            keys = form.get("lookup_keys", [])
            keys = keys if isinstance(keys, list) else [keys]
            return 200, {"object": "list", "data": [price(k) for k in keys if k.startswith("beacon_")]}
        if method == "POST" and parts == ["checkout", "sessions"]:
            if form.get("customer") not in STATE["customers"]:
                return 400, "No such customer"
            session = {
                "id": new_id("cs"),
                "object": "checkout.session",
                "customer": form["customer"],
                "client_reference_id": form.get("client_reference_id"),
                "metadata": form.get("metadata", {}),
                "mode": form.get("mode"),
                "line_items": form.get("line_items", []),
                "subscription_data": form.get("subscription_data", {}),
                "payment_method_collection": form.get("payment_method_collection"),
                "success_url": form.get("success_url"),
                "cancel_url": form.get("cancel_url"),
                "subscription": None,
                "status": "open",
            }
            session["url"] = f"http://127.0.0.1:{ARGS.port}/checkout/{session['id']}"
            STATE["sessions"][session["id"]] = session
            return 200, session
        if method == "POST" and parts == ["billing_portal", "sessions"]:
            if form.get("customer") not in STATE["customers"]:
                return 400, "No such customer"
            portal = {"id": new_id("bps"), "object": "billing_portal.session", **form}
            portal["url"] = f"http://127.0.0.1:{ARGS.port}/portal/{portal['id']}"
            STATE["portal_sessions"][portal["id"]] = portal
            return 200, portal
        if method == "GET" and len(parts) == 2 and parts[0] == "subscriptions":
            sub = STATE["subscriptions"].get(parts[1])
            return (200, sub) if sub else (404, "No such subscription")
        if method == "GET" and parts == ["invoices"]:
            invoices = [i for i in STATE["invoices"].values() if i["customer"] == form.get("customer")]
            invoices.sort(key=lambda i: i["created"], reverse=True)
            return 200, {"object": "list", "data": invoices[: int(form.get("limit", 10))]}
        if method == "POST" and parts == ["billing", "meter_events"]:
            identifier = form.get("identifier") or new_id("mev")
            if identifier in STATE["meter_events"]:
                return 400, f"An event with identifier {identifier} already exists"
            event = {
                "object": "billing.meter_event",
                "event_name": form.get("event_name"),
                "identifier": identifier,
                "payload": form.get("payload", {}),
                "timestamp": int(form.get("timestamp") or time.time()),
            }
            STATE["meter_events"][identifier] = event
            return 200, event
        return 404, f"Unrecognized request URL ({method}: {path})"

    def pages(self, method, path, body):
        parts = path.strip("/").split("/")
        if method == "GET" and parts[0] == "checkout" and len(parts) == 2:
            session = STATE["sessions"].get(parts[1])
            if not session:
                return self.answer(404, "no such session", "text/plain")
            lookup = price_by_id(session["line_items"][0]["price"])["lookup_key"]
            trial = session["subscription_data"].get("trial_period_days")
            page = f"""<!doctype html><html><head><title>Fake Stripe Checkout</title></head>
<body><h1>Fake Stripe Checkout</h1><p id="price">{html.escape(lookup)}</p>
<p id="trial">{f'{trial}-day trial' if trial else 'no trial'}</p>
<form method="post" action="/checkout/{session['id']}/pay"><button type="submit">Pay</button></form>
<a href="{html.escape(session['cancel_url'])}">Back</a></body></html>"""
            return self.answer(200, page, "text/html; charset=utf-8")
        if method == "POST" and parts[0] == "checkout" and len(parts) == 3 and parts[2] == "pay":
            with LOCK:
                session = STATE["sessions"].get(parts[1])
                if not session or session["status"] != "open":
                    return self.answer(409, "session not open", "text/plain")
                lookup = price_by_id(session["line_items"][0]["price"])["lookup_key"]
                trial = session["subscription_data"].get("trial_period_days")
                org_id = session["subscription_data"].get("metadata", {}).get("org_id")
                sub = subscription_object(
                    session["customer"], lookup, "trialing" if trial else "active", org_id,
                    int(trial) if trial else None,
                )
                session["subscription"] = sub["id"]
                session["status"] = "complete"
                invoice = {
                    "id": new_id("in"),
                    "object": "invoice",
                    "customer": session["customer"],
                    "number": f"FAKE-{next(IDS):04d}",
                    "status": "paid",
                    "amount_due": 0 if trial else 1900,
                    "amount_paid": 0 if trial else 1900,
                    "currency": "usd",
                    "created": int(time.time()),
                    "hosted_invoice_url": f"http://127.0.0.1:{ARGS.port}/invoice",
                    "invoice_pdf": None,
                    "parent": {"subscription_details": {"subscription": sub["id"]}},
                }
                STATE["invoices"][invoice["id"]] = invoice
                completed = dict(session)
            send_event("checkout.session.completed", completed)
            return self.answer(303, "", "text/plain", [("Location", completed["success_url"])])
        if method == "GET" and parts[0] == "portal" and len(parts) == 2:
            portal = STATE["portal_sessions"].get(parts[1])
            if not portal:
                return self.answer(404, "no such session", "text/plain")
            page = f"""<!doctype html><html><head><title>Fake Stripe Customer Portal</title></head>
<body><h1>Fake Stripe Customer Portal</h1><a href="{html.escape(portal['return_url'])}">Return</a></body></html>"""
            return self.answer(200, page, "text/html; charset=utf-8")
        if method == "POST" and path == "/_fake/config":
            ARGS.webhook_url = json.loads(body or "{}")["webhook_url"]
            return self.answer(200, {"webhook_url": ARGS.webhook_url})
        if method == "GET" and path == "/_fake/state":
            with LOCK:
                return self.answer(200, STATE)
        if method == "POST" and parts[:2] == ["_fake", "subscriptions"] and len(parts) == 3:
            change = json.loads(body or "{}")
            with LOCK:
                sub = STATE["subscriptions"].get(parts[2])
                if not sub:
                    return self.answer(404, {"error": "no such subscription"})
                if "status" in change:
                    sub["status"] = change["status"]
                if "lookup_key" in change:
                    sub["items"]["data"][0]["price"] = price(change["lookup_key"])
                if "cancel_at_period_end" in change:
                    sub["cancel_at_period_end"] = change["cancel_at_period_end"]
                snapshot = json.loads(json.dumps(sub))
                if change.get("send", "").startswith("invoice."):
                    # Invoice events carry the invoice, which names its subscription.
                    obj = {
                        "id": new_id("in"),
                        "object": "invoice",
                        "customer": sub["customer"],
                        "status": "paid" if change["send"] == "invoice.paid" else "open",
                        "parent": {"subscription_details": {"subscription": sub["id"]}},
                    }
                else:
                    obj = snapshot
            status = send_event(change["send"], obj) if change.get("send") else None
            return self.answer(200, {"subscription": snapshot, "webhook_status": status})
        if method == "POST" and parts == ["_fake", "subscriptions"]:
            spec = json.loads(body or "{}")
            with LOCK:
                sub = subscription_object(spec["customer"], spec["lookup_key"], spec.get("status", "active"), spec.get("org_id"))
            return self.answer(200, sub)
        if method == "POST" and parts == ["_fake", "events"]:
            spec = json.loads(body or "{}")
            status = send_event(spec["type"], spec["object"])
            return self.answer(200, {"webhook_status": status})
        return self.answer(404, "not found", "text/plain")


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", required=True)
    ARGS = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    ARGS.port = server.server_address[1]
    print(f"listening on {ARGS.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
