"""JSON-lines logging: one object per line with the service and the request's id and subject.

A record is written by a thread of its own (a queue and ``QueueListener``), never on the event
loop: the caller's thread only takes the request's fields and the message text; the line is
formatted and written by the writer, which drains the queue at exit, or when an app stops
(``write_logs_directly``).
"""

import atexit
import copy
import json
import logging
import logging.handlers
import queue
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
    "request_fields",
}

trace_ids: Callable[[], str | None] | None = None
"""The current trace's id, installed by ``common.tracing`` when traces are on (else no cost)."""


class JsonFormatter(logging.Formatter):
    def __init__(self, default_service: str) -> None:
        super().__init__()
        self.default_service = default_service

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "request_fields", None)
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.default_service,
            "logger": record.name,
            "msg": record.getMessage(),
            **(request_fields() if fields is None else fields),
        }
        line.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and k not in line}
        )
        if record.exc_info:
            line["exc"] = "".join(traceback.format_exception(*record.exc_info))
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, default=str)


def request_fields() -> dict[str, str]:
    """The service, request id, subject and trace id of the request being served, if any."""
    context = current_request()
    fields = {}
    if context:
        fields["service"] = context.service
        fields["request_id"] = context.request_id
        if context.subject:
            fields["subject"] = context.subject
    if trace_ids is not None and (trace_id := trace_ids()):
        fields["trace_id"] = trace_id
    return fields


class _ToWriter(logging.handlers.QueueHandler):
    """Queues a copy of the record with what only the caller's thread knows: the request's
    fields, the message with its arguments, and the traceback as text."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        queued = copy.copy(record)
        queued.request_fields = request_fields()
        queued.msg, queued.args = record.getMessage(), None
        if record.exc_info:
            queued.exc_text = "".join(traceback.format_exception(*record.exc_info))
            queued.exc_info = None
        return queued


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


_queue: "queue.Queue[logging.LogRecord]" = queue.Queue()
_to_writer = _ToWriter(_queue)
_writer: _StdoutHandler | None = None
_listener: logging.handlers.QueueListener | None = None
"""The writer thread, while records go through the queue."""


def configure_logging(level: str = "INFO", default_service: str = "platform") -> None:
    """Send every logger's records to stdout as JSON lines, written by a thread of their own; a
    second call changes only the level (and queues again after ``write_logs_directly``)."""
    global _writer
    root = logging.getLogger()
    root.setLevel(level.upper())
    if _writer is None:
        _writer = _StdoutHandler()
        _writer.setFormatter(JsonFormatter(default_service))
        atexit.register(write_logs_directly)  # writes what is queued, then ends the thread
        for name in ("uvicorn", "uvicorn.error"):
            logging.getLogger(name).handlers[:] = []
            logging.getLogger(name).propagate = True
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call is noise
        # uvicorn's own access line would duplicate ours, without the request id.
        logging.getLogger("uvicorn.access").disabled = True
    _queue_records(root, _writer)


def _queue_records(root: logging.Logger, writer: _StdoutHandler) -> None:
    global _listener
    if _listener is not None:
        return
    _listener = logging.handlers.QueueListener(_queue, writer)
    _listener.start()
    root.removeHandler(writer)
    root.addHandler(_to_writer)


def write_logs_directly() -> None:
    """Write what is queued, end the writer thread, and from now on write each record on the
    thread that logs it. An app's lifespan calls it as it stops: uvicorn logs its last lines
    after that and then raises the SIGTERM it caught again, which ends the process without
    running ``atexit``, so anything still queued then would be lost."""
    global _listener
    if _listener is None or _writer is None:
        return
    _listener.stop()
    _listener = None
    root = logging.getLogger()
    root.removeHandler(_to_writer)
    root.addHandler(_writer)


def flush_logs() -> None:
    """Wait until every record queued so far is written (tests read the output after this)."""
    _queue.join()
