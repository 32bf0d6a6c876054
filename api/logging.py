"""One log line per HTTP request: client, method, route, status and latency.

A matched route is logged by its template (`/documents/{doc_id}`), never by its raw path,
and the query string never is, so neither ids nor questions reach the log by accident.
The question text is added only when QA_LOG_QUESTIONS is true. No header is ever logged,
so neither is the API key.

Example (text): `127.0.0.1 POST /ask 200 41.2 ms`; with QA_LOG_FORMAT=json the same
fields also come as keys: method, route, status, latency_ms, client (and question).
"""

from __future__ import annotations

import json
import logging
import re
import time
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import StatusRecorder

log = logging.getLogger("api.request")
MAX_PATH_CHARS = 200  # an unmatched path is logged raw, but cut short
MAX_QUESTION_CHARS = 1000
MAX_BODY_KEPT = 64 * 1024  # enough of a /ask body to find its question
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a decoded %0A in a path must not forge a log line


def _printable(text: str, limit: int) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:limit])


def _question(route: str, scope: Scope, body: bytes) -> str | None:
    """The question of a /ask body or a /search query string, if there is one."""
    if route == "/search":
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("q")
        return values[0] if values else None
    if route == "/ask" and body:
        try:
            question = json.loads(body).get("question")
        except (ValueError, AttributeError):
            return None
        return question if isinstance(question, str) else None
    return None


class RequestLog:
    """Logs every HTTP request once it is answered (or has failed), at INFO (ERROR for a 5xx)."""

    def __init__(self, app: ASGIApp, log_questions: bool = False) -> None:
        self.app = app
        self.log_questions = log_questions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        recorder = StatusRecorder(send)
        keep_body = self.log_questions and scope["method"] == "POST"
        body = bytearray()

        async def receive_and_keep() -> Message:
            message = await receive()
            if len(body) < MAX_BODY_KEPT:
                body.extend(message.get("body", b""))
            return message

        try:
            await self.app(scope, receive_and_keep if keep_body else receive, recorder)
        finally:
            status = recorder.status
            route = getattr(scope.get("route"), "path", None) or _printable(scope["path"], MAX_PATH_CHARS)
            latency_ms = round((time.perf_counter() - started) * 1000, 1)
            client = scope.get("client")
            fields: dict[str, object] = {
                "method": scope["method"],
                "route": route,
                "status": status,
                "latency_ms": latency_ms,
                "client": client[0] if client else None,
            }
            message = f"{fields['client']} {scope['method']} {route} {status} {latency_ms} ms"
            question = _question(route, scope, bytes(body)) if self.log_questions else None
            if question is not None:
                fields["question"] = question[:MAX_QUESTION_CHARS]
                message += f" question={fields['question']!r}"
            log.log(logging.ERROR if status >= 500 else logging.INFO, message, extra=fields)
