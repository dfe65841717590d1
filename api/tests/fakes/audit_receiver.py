"""An HTTPS receiver of Beacon's audit stream, as a SIEM would run one.

Serves TLS with the certificate and key given, checks every delivery with the reference
Standard Webhooks library (`standardwebhooks` on PyPI: the signature over
"{webhook-id}.{webhook-timestamp}.{body}" and the timestamp's age), and keeps what it received. The test controls it over plain HTTP on a
second port: GET /_state answers the deliveries, POST /_status sets the status it answers
deliveries with (200 by default).

Prints "listening on <https port> <control port>" once both ports listen.
"""

import argparse
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

STATE = {"deliveries": [], "status": 200}
LOCK = threading.Lock()


def signature_valid(secret, headers, body):
    try:
        Webhook(secret).verify(body, {name.lower(): value for name, value in headers.items()})
        return True
    except Exception:  # the library raises WebhookVerificationError (or a decoding error)
        return False


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
