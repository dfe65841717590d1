"""Fake Jira Cloud (REST API v3) and GitHub (REST API) as Beacon's connectors reach them.

Each checks requests the way its service documents them and answers as the service does:
- Jira, under /jira (the "site"): Basic auth of `email:api_token`; `GET
  /rest/api/3/project/{key}` (200, or 404 with `errorMessages`); `POST /rest/api/3/issue` with
  `fields` {project.key, issuetype.name, summary (one line, at most 255), labels (no spaces),
  description (an Atlassian Document: type doc, version 1, known node and mark types)},
  answering 201 {id, key, self} or 400 {errorMessages, errors}; `POST
  /rest/api/3/issue/{key}/comment` with `body` an Atlassian Document, 201 or 404.
- GitHub, under /github (the API root): `Authorization: Bearer`, `Accept:
  application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28` and a `User-Agent`
  (GitHub refuses requests without one); `GET /repos/{owner}/{repo}` (200 or 404 {message});
  `POST /repos/{o}/{r}/issues` with {title, body, labels}, answering 201 {number, html_url} or
  422 {message: "Validation Failed", errors}; `POST /repos/{o}/{r}/issues/{n}/comments` with
  {body}, 201 or 404.
A wrong credential answers 401 (Jira: an empty body; GitHub: {"message": "Bad credentials"}).

Control on a second port: GET /_state answers every request received, with the problem found
in it (null when it was right); POST /_accounts {"jira": {"email", "token", "projects"},
"github": {"token", "repos"}} sets what is accepted; POST /_status {"service", "status"} makes a
service answer that status; POST /_delete {"ticket": "github:owner/repo#1"} deletes a ticket
(as someone in the tracker would).

Prints "listening on <trackers port> <control port>".
"""

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"received": [], "accounts": {}, "status": {}, "tickets": {}}
LOCK = threading.Lock()
ADF_NODES = {"doc", "paragraph", "text", "bulletList", "listItem", "heading", "codeBlock", "hardBreak"}
ADF_MARKS = {"strong", "em", "code", "link"}


def adf_problem(node, top=True):
    if not isinstance(node, dict):
        return "an ADF node must be an object"
    kind = node.get("type")
    if top and (kind != "doc" or node.get("version") != 1):
        return "a description must be an ADF doc of version 1"
    if kind not in ADF_NODES:
        return f"unknown ADF node {kind}"
    if kind == "text":
        if not isinstance(node.get("text"), str) or not node["text"]:
            return "a text node needs non-empty text"
        for mark in node.get("marks", []):
            if mark.get("type") not in ADF_MARKS:
                return f"unknown mark {mark.get('type')}"
            if mark["type"] == "link" and not mark.get("attrs", {}).get("href", "").startswith("http"):
                return "a link mark needs attrs.href"
        return None
    for child in node.get("content", []):
        problem = adf_problem(child, top=False)
        if problem:
            return problem
    return None


def jira(handler, method, path, body):
    account = STATE["accounts"].get("jira", {})
    expected = base64.b64encode(f"{account.get('email')}:{account.get('token')}".encode()).decode()
    if handler.headers.get("authorization") != f"Basic {expected}":
        return 401, None, "wrong credentials"
    projects = account.get("projects", [])
    match = re.fullmatch(r"/rest/api/3/project/([A-Z][A-Z0-9_]+)", path)
    if method == "GET" and match:
        if match.group(1) not in projects:
            return 404, {"errorMessages": [f"No project could be found with key '{match.group(1)}'."], "errors": {}}, None
        return 200, {"key": match.group(1), "name": match.group(1)}, None
    if method == "POST" and path == "/rest/api/3/issue":
        fields = (body or {}).get("fields", {})
        errors = {}
        if fields.get("project", {}).get("key") not in projects:
            errors["project"] = "valid project is required"
        if fields.get("issuetype", {}).get("name") not in ("Bug", "Task"):
            errors["issuetype"] = "Specify a valid issue type"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > 255 or "\n" in summary:
            errors["summary"] = "You must specify a summary of the issue."
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or any(not isinstance(l, str) or " " in l for l in labels):
            errors["labels"] = "Labels cannot contain spaces."
        problem = adf_problem(fields.get("description"))
        if problem:
            errors["description"] = problem
        if errors:
            return 400, {"errorMessages": [], "errors": errors}, "; ".join(errors.values())
        with LOCK:
            number = len([k for k in STATE["tickets"] if k.startswith("jira:")]) + 1
            key = f"{fields['project']['key']}-{number}"
            STATE["tickets"][f"jira:{key}"] = {"fields": fields, "comments": []}
        return 201, {"id": str(10000 + number), "key": key,
                     "self": f"{handler.base()}/jira/rest/api/3/issue/{10000 + number}"}, None
    match = re.fullmatch(r"/rest/api/3/issue/([A-Z][A-Z0-9_]+-\d+)/comment", path)
    if method == "POST" and match:
        ticket = STATE["tickets"].get(f"jira:{match.group(1)}")
        if ticket is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}, None
        problem = adf_problem((body or {}).get("body"))
        if problem:
            return 400, {"errorMessages": [problem], "errors": {}}, problem
        with LOCK:
            ticket["comments"].append(body["body"])
        return 201, {"id": str(len(ticket["comments"]))}, None
    return 404, {"errorMessages": ["not found"], "errors": {}}, "unknown Jira path"


def github(handler, method, path, body):
    account = STATE["accounts"].get("github", {})
    if handler.headers.get("authorization") != f"Bearer {account.get('token')}":
        return 401, {"message": "Bad credentials"}, "wrong credentials"
    if handler.headers.get("accept") != "application/vnd.github+json":
        return 415, {"message": "Unsupported Media Type"}, "accept must be application/vnd.github+json"
    if handler.headers.get("x-github-api-version") != "2022-11-28":
        return 400, {"message": "Invalid API version"}, "x-github-api-version"
    if not handler.headers.get("user-agent"):
        return 403, {"message": "Request forbidden by administrative rules."}, "no user-agent"
    repos = account.get("repos", [])
    match = re.fullmatch(r"/repos/([\w.-]+/[\w.-]+)", path)
    if method == "GET" and match:
        if match.group(1) not in repos:
            return 404, {"message": "Not Found"}, None
        return 200, {"full_name": match.group(1)}, None
    match = re.fullmatch(r"/repos/([\w.-]+/[\w.-]+)/issues", path)
    if method == "POST" and match:
        if match.group(1) not in repos:
            return 404, {"message": "Not Found"}, None
        errors = []
        if not isinstance((body or {}).get("title"), str) or not body["title"]:
            errors.append({"resource": "Issue", "field": "title", "code": "missing_field"})
        if not isinstance(body.get("body", ""), str):
            errors.append({"resource": "Issue", "field": "body", "code": "invalid"})
        labels = body.get("labels", [])
        if not isinstance(labels, list) or any(not isinstance(l, str) for l in labels):
            errors.append({"resource": "Issue", "field": "labels", "code": "invalid"})
        if errors:
            return 422, {"message": "Validation Failed", "errors": errors}, "validation failed"
        with LOCK:
            number = len([k for k in STATE["tickets"] if k.startswith(f"github:{match.group(1)}#")]) + 1
            STATE["tickets"][f"github:{match.group(1)}#{number}"] = {"issue": body, "comments": []}
        return 201, {"number": number, "html_url": f"https://github.test/{match.group(1)}/issues/{number}"}, None
    match = re.fullmatch(r"/repos/([\w.-]+/[\w.-]+)/issues/(\d+)/comments", path)
    if method == "POST" and match:
        ticket = STATE["tickets"].get(f"github:{match.group(1)}#{match.group(2)}")
        if ticket is None:
            return 404, {"message": "Not Found"}, None
        if not isinstance((body or {}).get("body"), str) or not body["body"]:
            return 422, {"message": "Validation Failed", "errors": [{"field": "body"}]}, "empty comment"
        with LOCK:
            ticket["comments"].append(body["body"])
        return 201, {"id": len(ticket["comments"])}, None
    return 404, {"message": "Not Found"}, "unknown GitHub path"


class Trackers(BaseHTTPRequestHandler):
    def base(self):
        return f"http://{self.headers.get('host')}"

    def handle_request(self, method):
        raw = self.rfile.read(int(self.headers.get("content-length", 0) or 0))
        service, _, rest = self.path.lstrip("/").partition("/")
        path = "/" + rest
        body = None
        problem = None
        if method == "POST":
            if not (self.headers.get("content-type") or "").startswith("application/json"):
                problem = "content-type must be application/json"
            try:
                body = json.loads(raw)
            except ValueError:
                problem = problem or "not JSON"
        with LOCK:
            forced = STATE["status"].get(service)
        if problem:
            status, reply = 400, {"message": problem}
        elif forced:
            status, reply = forced, {"message": f"forced {forced}"}
        elif service == "jira":
            status, reply, problem = jira(self, method, path, body)
        elif service == "github":
            status, reply, problem = github(self, method, path, body)
        else:
            status, reply, problem = 404, None, "unknown service"
        with LOCK:
            STATE["received"].append({"service": service, "method": method, "path": path,
                                      "body": body, "status": status, "problem": problem})
        data = json.dumps(reply).encode() if reply is not None else b""
        self.send_response(status)
        if data:
            self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

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
            if self.path == "/_accounts":
                STATE["accounts"].update(body)
            elif self.path == "/_status":
                STATE["status"][body["service"]] = int(body["status"]) or None
            elif self.path == "/_delete":
                STATE["tickets"].pop(body["ticket"], None)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    trackers = ThreadingHTTPServer(("127.0.0.1", 0), Trackers)
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    for server in (trackers, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on {trackers.server_address[1]} {control.server_address[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
