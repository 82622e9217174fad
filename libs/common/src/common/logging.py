"""JSON-lines logging: one object per line with the service and the request's id and subject."""

import json
import logging
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from common.context import current_request

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "color_message",
}

trace_ids: Callable[[], str | None] | None = None
"""The current trace's id, installed by ``common.tracing`` when traces are on (else no cost)."""


class JsonFormatter(logging.Formatter):
    def __init__(self, default_service: str) -> None:
        super().__init__()
        self.default_service = default_service

    def format(self, record: logging.LogRecord) -> str:
        context = current_request()
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": context.service if context else self.default_service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if context:
            line["request_id"] = context.request_id
            if context.subject:
                line["subject"] = context.subject
        if trace_ids is not None and (trace_id := trace_ids()):
            line["trace_id"] = trace_id
        line.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and k not in line}
        )
        if record.exc_info:
            line["exc"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(line, default=str)


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(level: str = "INFO", default_service: str = "platform") -> None:
    """Send every logger's records to stdout as JSON lines; a second call changes only the level."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if any(isinstance(handler, _StdoutHandler) for handler in root.handlers):
        return
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter(default_service))
    root.addHandler(handler)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per outgoing call is noise
    # uvicorn's own access line would duplicate ours, without the request id.
    logging.getLogger("uvicorn.access").disabled = True
