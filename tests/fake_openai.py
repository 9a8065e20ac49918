"""A tiny OpenAI-compatible chat-completions server on 127.0.0.1, for driving the REAL `openai` client.

    with FakeOpenAI() as server:
        server.reply_json({"response": "hi", "confidence": 0.9, "reasoning": "easy"})
        server.reply_text("not json {")          # a malformed model reply (HTTP 200)
        server.reply_error(500, "boom")          # an HTTP error
        ... point HITL_OPENAI_BASE_URL at server.base_url ...
        server.requests  # every request received: {"method", "path", "headers", "body"}

Replies are served in order, one per POST /v1/chat/completions. With the queue empty the server answers
HTTP 500 "no scripted reply", so a test that makes an unexpected call fails loudly instead of hanging.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ScriptedReply:
    status: int
    content: str | None = None  # the assistant message content (status 200)
    error: str | None = None  # the error message (status >= 400)


class FakeOpenAI:
    """A chat-completions endpoint with a scripted reply queue and a request log."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._replies: deque[ScriptedReply] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        """The URL to give the client as base_url (ends in /v1)."""
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def reply_json(self, obj: Any) -> None:
        """Queue a reply whose message content is `obj` as JSON."""
        self.reply_text(json.dumps(obj))

    def reply_text(self, content: str) -> None:
        """Queue a reply whose message content is exactly `content` (may be malformed JSON)."""
        with self._lock:
            self._replies.append(ScriptedReply(200, content=content))

    def reply_error(self, status: int, message: str = "scripted error") -> None:
        """Queue an HTTP error reply in the OpenAI error format."""
        with self._lock:
            self._replies.append(ScriptedReply(status, error=message))

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat-completion requests received, in order."""
        with self._lock:
            return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")]

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_reply(self) -> ScriptedReply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return ScriptedReply(500, error="no scripted reply")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with fake._lock:
                    fake.requests.append(
                        {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body}
                    )
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                reply = fake._next_reply()
                if reply.status >= 400:
                    error = {"message": reply.error, "type": "server_error", "param": None, "code": None}
                    self._send(reply.status, {"error": error})
                    return
                model = body.get("model", "fake") if isinstance(body, dict) else "fake"
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-fake-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.content},
                                "finish_reason": "stop",
                                "logprobs": None,
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    },
                )

        return Handler
