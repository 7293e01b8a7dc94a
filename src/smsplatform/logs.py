"""Logging for the long-running processes: `serve`, the headless roles and the dispatch workers.

One handler on the root logger, in the `log_format` setting's shape: text lines for a terminal, or one
JSON object a line (time, level, logger, message, and the exception's text) for a log shipper, so that
a traceback never spreads over lines a shipper would take for separate records.

Libraries' per-request chatter is held back: httpx and httpcore log every callback POST at INFO (in a
soak, 99.7% of the log), and uvicorn's access lines would do the same for every API request. What a
failing receiver or link needs to say, the callbacks and connectors rooms say themselves, once.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from smsplatform.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Loggers that speak once per request or connection: WARNING and above only.
QUIET_LOGGERS = ("httpx", "httpcore")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: `time` (local ISO 8601 with its offset, to the millisecond), `level`,
    `logger`, `message`, and, when present, `process` (which of serve's processes), `exception` and
    `stack` as text."""

    def __init__(self, process: str = "") -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self._process:
            entry["process"] = self._process
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _iso_time(created: float) -> str:
    local = time.localtime(created)
    millis = int(created % 1 * 1000)
    offset = time.strftime("%z", local)  # +0800
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', local)}.{millis:03d}{offset[:3]}:{offset[3:]}"


def configure_logging(settings: Settings, *, process: str = "", stream: TextIO | None = None) -> None:
    """Replaces the root logger's handlers with one writing `settings.log_format` lines to `stream`
    (stderr) at `settings.log_level`. `process` names a dispatch worker ("dispatch-0") in each line."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(process))
    else:
        prefix = f"{process} " if process else ""
        handler.setFormatter(logging.Formatter(TEXT_FORMAT.replace("%(name)s", prefix + "%(name)s")))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    logging.captureWarnings(True)  # warnings become records in the same format
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn runs with access_log=False; should anything turn its access logger on, it stays quiet.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    access.disabled = True
