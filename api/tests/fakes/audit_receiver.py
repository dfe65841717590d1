"""An HTTPS receiver of Beacon's audit stream, as a SIEM would run one (standard library only).

Serves TLS with the certificate and key given, checks every delivery's Standard Webhooks
signature itself (HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" with the secret's
base64-decoded bytes), and keeps what it received. The test controls it over plain HTTP on a
second port: GET /_state answers the deliveries, POST /_status sets the status it answers
deliveries with (200 by default).

Prints "listening on <https port> <control port>" once both ports listen.
"""

import argparse
import base64
import hashlib
import hmac
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"deliveries": [], "status": 200}
LOCK = threading.Lock()


def signature_valid(secret, headers, body):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in headers.get("webhook-signature", "").split() if "," in s]
    return any(hmac.compare_digest(expected, sig) for sig in offered)


def make_receiver(secret):
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with LOCK:
                status = STATE["status"]
                STATE["deliveries"].append(
                    {
                        "id": self.headers.get("webhook-id"),
                        "valid": signature_valid(secret, self.headers, body),
                        "answered": status,
                        "body": json.loads(body),
                    }
                )
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Receiver


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
            STATE["status"] = int(body["status"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret-file", required=True)
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)

    class SecretReceiver(BaseHTTPRequestHandler):
        """Reads the secret at each delivery (the test learns it after the receiver starts)."""

        def do_POST(self):
            with open(args.secret_file) as f:
                secret = f.read().strip()
            make_receiver(secret).do_POST(self)

        def log_message(self, *args):
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), SecretReceiver)
    receiver.socket = context.wrap_socket(receiver.socket, server_side=True)
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    for server in (receiver, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on {receiver.server_address[1]} {control.server_address[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
