"""A DNS server for the tests (dnslib from PyPI): answers TXT queries from a JSON file
{"name": ["value", ...]}, read again at every query, and NXDOMAIN for names it does not hold.
Listens on UDP 127.0.0.1, on a free port; prints "listening on <port>" when ready."""

import argparse
import json
import threading

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class FileResolver(BaseResolver):
    def __init__(self, path):
        self.path = path

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        try:
            with open(self.path) as f:
                records = json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            records = {}
        if name not in records:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in records[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=1))
        return reply


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", required=True)
    args = parser.parse_args()
    # Silent: the test stops reading stdout after the first line.
    quiet = DNSLogger(logf=lambda _: None)
    server = DNSServer(FileResolver(args.records), port=0, address="127.0.0.1", logger=quiet)
    server.start_thread()
    print(f"listening on {server.server.server_address[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
