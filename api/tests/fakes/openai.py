"""A fake OpenAI-compatible chat completions endpoint, as OpenAI documents its wire format
(https://platform.openai.com/docs/api-reference/chat), and as Ollama and vLLM speak it.

POST /v1/chat/completions checks the request as the service would: a bearer token, JSON with a
`model` and a non-empty `messages` list of `{role, content}` with known roles; `stream: true`
answers server-sent events of `chat.completion.chunk` objects ending with `data: [DONE]`, with
a last chunk carrying `usage` when `stream_options.include_usage` is set; otherwise one
`chat.completion` object with `usage`. Token counts are characters / 4, rounded up.

What it answers: by default a sentence per fact line of the user message (lines such as
`[F3] Unique visitors: 1,234 (previous 1,100, +12%)`), quoting the fact and its figures, so an
answer only repeats figures of the prompt. The control port scripts the next answers in order:
POST /_script {"steps": [{"status": 429}, {"status": 500}, {"sleep": 3}, {"text": "..."}]}.
GET /_state answers every request received (headers and body); POST /_reset forgets them.

Prints "listening on <api port> <control port>".
"""

import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"received": [], "script": []}
LOCK = threading.Lock()
ROLES = {"system", "developer", "user", "assistant"}
FACT = re.compile(r"^\[(F\d+)\] (.+)$", re.M)


def tokens(text):
    return max(1, math.ceil(len(text) / 4))


def problem(body, headers):
    if not (headers.get("authorization") or "").startswith("Bearer "):
        return 401, "invalid_api_key", "You didn't provide an API key."
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        return 400, "invalid_request_error", "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, "invalid_request_error", "'messages' must be a non-empty array"
    for message in messages:
        if message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            return 400, "invalid_request_error", "each message needs a role and string content"
    return None


def default_answer(body):
    user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
    facts = FACT.findall(user)[:4]
    if not facts:
        return "There is nothing notable in these figures."
    return " ".join(f"{text.rstrip('.')} [{fid}]." for fid, text in facts)


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body, content_type="application/json"):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with LOCK:
            STATE["received"].append({
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "raw": raw.decode("utf-8", "replace"),
                "body": body,
            })
            step = STATE["script"].pop(0) if STATE["script"] else {}
        if self.path != "/v1/chat/completions":
            return self.reply(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
        if "sleep" in step:
            time.sleep(step["sleep"])
        if "status" in step:
            status = step["status"]
            if status >= 500:
                return self.reply(status, b"upstream overloaded", "text/plain")
            message = {429: "Rate limit reached", 401: "Incorrect API key provided: sk-te****cret"}
            return self.reply(status, {"error": {
                "message": message.get(status, "refused"),
                "type": "requests" if status == 429 else "invalid_request_error",
                "param": None, "code": "rate_limit_exceeded" if status == 429 else None}})
        found = problem(body, self.headers)
        if found:
            status, kind, message = found
            return self.reply(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})
        text = step.get("text") or default_answer(body)
        prompt = sum(tokens(m["content"]) for m in body["messages"])
        usage = {"prompt_tokens": prompt, "completion_tokens": tokens(text),
                 "total_tokens": prompt + tokens(text)}
        created = int(time.time())
        if body.get("stream"):
            return self.stream(body, text, usage, created)
        self.reply(200, {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": created,
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": usage,
        })

    def stream(self, body, text, usage, created):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()

        def chunk(delta, finish=None, with_usage=False):
            payload = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created,
                       "model": body["model"],
                       "choices": [] if with_usage else
                       [{"index": 0, "delta": delta, "finish_reason": finish}]}
            if with_usage:
                payload["usage"] = usage
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()

        chunk({"role": "assistant", "content": ""})
        words = text.split(" ")
        for i in range(0, len(words), 3):
            piece = " ".join(words[i:i + 3]) + (" " if i + 3 < len(words) else "")
            chunk({"content": piece})
            time.sleep(0.01)
        chunk({}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            chunk({}, with_usage=True)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


class Control(BaseHTTPRequestHandler):
    def do_GET(self):
        with LOCK:
            body = json.dumps({"received": STATE["received"]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        with LOCK:
            if self.path == "/_script":
                STATE["script"] = list(body["steps"])
            elif self.path == "/_reset":
                STATE["received"] = []
                STATE["script"] = []
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.daemon_threads = True
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    for server in (api, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on {api.server_address[1]} {control.server_address[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
