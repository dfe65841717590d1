"""Runs scim2-tester (PyPI), the SCIM RFC 7643/7644 conformance checker, against Beacon's SCIM
service. Usage: scim_check.py <base url> <token>. Prints one JSON line: the number of checks by
status, and every check that did not pass, with its reason."""

import json
import sys
from collections import Counter

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token = sys.argv[1], sys.argv[2]
http = httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
client = SyncSCIMClient(http)
results = check_server(client, raise_exceptions=False)
counts = Counter(result.status.name for result in results)
bad = [
    {"title": r.title, "status": r.status.name, "reason": r.reason, "resource": r.resource_type}
    for r in results
    if r.status in (Status.ERROR, Status.CRITICAL, Status.DEVIATION)
]
print(json.dumps({"counts": counts, "total": len(results), "problems": bad}))
