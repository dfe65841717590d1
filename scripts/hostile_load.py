"""Hostile traffic against a running Beacon, measuring its resident memory (RSS) meanwhile.

Used by scripts/bench-hostile. Standard library only. Each phase prints one JSON line: the
statuses answered, the RSS before, the peak while it ran (sampled every 20 ms) and after.
"""
import argparse
import http.client
import json
import threading
import time
from collections import Counter


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, rss_kib(pid), True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)


def post(port, path, body, content_type, client_ip):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers={
            "content-type": content_type,
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            # Each request from its own address (the server trusts 127.0.0.1 as a proxy), so
            # the per-address login limit does not hide the load.
            "x-forwarded-for": client_ip,
        })
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError as error:
        return type(error).__name__
    finally:
        conn.close()


def phase(name, pid, port, requests, concurrency):
    """Sends `requests` (a list of (path, body, content type)) from `concurrency` threads."""
    before = rss_kib(pid)
    sampler = Sampler(pid)
    sampler.start()
    statuses = Counter()
    lock = threading.Lock()
    queue = list(reversed(requests))
    start = threading.Barrier(concurrency)

    def work():
        start.wait()
        while True:
            with lock:
                if not queue:
                    return
                path, body, content_type = queue.pop()
                client_ip = f"198.18.{len(queue) // 250}.{len(queue) % 250 + 1}"
            status = post(port, path, body, content_type, client_ip)
            with lock:
                statuses[str(status)] += 1

    began = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - began
    time.sleep(1)
    sampler.running = False
    sampler.join()
    print(json.dumps({
        "phase": name, "requests": len(requests), "concurrency": concurrency,
        "seconds": round(seconds, 1), "statuses": dict(statuses),
        "rss_before_mib": round(before / 1024, 1), "rss_peak_mib": round(sampler.peak / 1024, 1),
        "rss_after_mib": round(rss_kib(pid) / 1024, 1),
    }), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--domains", type=int, default=6445)
    args = parser.parse_args()
    # Events for unique 60 KB domains that no project has.
    events = [("/api/event",
               json.dumps({"n": "pageview", "u": "https://bench.example/",
                           "d": f"{i:d}" + "x" * 60_000 + ".example"}),
               "text/plain") for i in range(args.domains)]
    phase("unknown_domains", args.pid, args.port, events, 16)
    # Simultaneous logins to unknown addresses, from as many client addresses: each is one
    # argon2id verification (~19 MiB) unless the server refuses it first.
    logins = [("/api/v1/auth/login",
               json.dumps({"email": f"nobody{i}@bench.example", "password": "wrong password 1"}),
               "application/json") for i in range(args.logins)]
    phase("logins", args.pid, args.port, logins, args.logins)


main()
