"""Logging set-up for every entry point: plain text for a terminal, JSON lines for a collector.

`configure` installs one handler on the root logger, so the service's, uvicorn's and the
request log's lines all come out in one format (QA_LOG_FORMAT). Calling it again (each
`create_app`, each CLI command) replaces that handler rather than adding a second one.

Example (QA_LOG_FORMAT=json):
    {"ts": "2025-01-01T12:00:00.123Z", "level": "INFO", "logger": "api.request",
     "msg": "127.0.0.1 POST /ask 200 41.2 ms", "method": "POST", "route": "/ask", "status": 200,
     "latency_ms": 41.2, "client": "127.0.0.1"}
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from qa.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` (uvicorn's
# `color_message` is its message again with terminal colour codes).
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
# Libraries that narrate their imports at INFO (faiss's CPU-feature probing, gensim's demo
# corpus, which hazm builds on import): only their warnings are worth a line.
QUIET_LOGGERS = ("faiss.loader", "gensim")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, pid, msg, any `extra` fields, and exc.

    The pid tells `qa serve --workers N` processes apart.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        line.update((key, value) for key, value in vars(record).items() if key not in _STANDARD)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _Handler(logging.StreamHandler):
    """Writes to the given stream, or to whatever `sys.stderr` is at the time of each line."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._fixed = stream

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return self._fixed if self._fixed is not None else sys.stderr

    @stream.setter
    def stream(self, value: TextIO | None) -> None:
        self._fixed = value


def configure(settings: Settings, stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Send log lines at `level` and above to `stream` (default stderr) in QA_LOG_FORMAT.

    Returns the installed handler; a later call replaces it.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return handler
