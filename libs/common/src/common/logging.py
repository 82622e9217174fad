"""JSON-lines logging: one object per line with the service and the request's id and subject.

Lines are formatted and written by a thread of their own, never on the event loop, in batches:
one write and one flush for whatever was queued meanwhile. The caller's thread only takes what
only it knows (the request's fields, the message with its arguments, a traceback as text). The
access line, one per request, skips the logging module's records altogether (``log_access``).
The writer drains the queue at exit, or when an app stops (``write_logs_directly``).
"""

import atexit
import copy
import json
import logging
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from common.context import current_request

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "color_message",
    "request_fields",
}
BATCH_SECONDS = 0.005
"""How long the writer lets lines gather after the first of a batch (one write for them all)."""

trace_ids: Callable[[], str | None] | None = None
"""The current trace's id, installed by ``common.tracing`` when traces are on (else no cost)."""
access_logger = logging.getLogger("access")


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def __init__(self, default_service: str) -> None:
        super().__init__()
        self.default_service = default_service

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "request_fields", None)
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
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


@dataclass
class _AccessLine:
    """An access line as the request's thread knows it; the writer adds the timestamp."""

    created: float
    fields: dict[str, Any]

    def text(self) -> str:
        self.fields["ts"] = _timestamp(self.created)
        return json.dumps(self.fields, default=str)


@dataclass
class _Flushed:
    """Set once every line queued before it is written."""

    done: threading.Event = field(default_factory=threading.Event)


_STOP = object()


class _Output:
    """Where lines go: to the writer thread while it runs, else written at once."""

    def __init__(self) -> None:
        self.formatter = JsonFormatter("platform")
        self.pending: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.writer: threading.Thread | None = None

    def submit(self, item: logging.LogRecord | _AccessLine) -> None:
        if self.writer is not None:
            self.pending.put(item)
        else:
            self._write([item])

    def start(self) -> None:
        if self.writer is None:
            self.writer = threading.Thread(target=self._run, name="log-writer", daemon=True)
            self.writer.start()

    def stop(self) -> None:
        """Write what is queued, end the thread; from now on lines are written at once."""
        writer, self.writer = self.writer, None
        if writer is not None:
            self.pending.put(_STOP)
            writer.join()
        late = []  # queued by another thread while the writer stopped
        while not self.pending.empty():
            late.append(self.pending.get_nowait())
        self._write([item for item in late if isinstance(item, logging.LogRecord | _AccessLine)])

    def flush(self) -> None:
        if self.writer is not None:
            flushed = _Flushed()
            self.pending.put(flushed)
            flushed.done.wait()

    def _run(self) -> None:
        while True:
            batch = [self.pending.get()]
            time.sleep(BATCH_SECONDS)
            while not self.pending.empty():
                batch.append(self.pending.get_nowait())
            lines = [item for item in batch if isinstance(item, logging.LogRecord | _AccessLine)]
            self._write(lines)
            for item in batch:
                if isinstance(item, _Flushed):
                    item.done.set()
            if _STOP in batch:
                return

    def _write(self, items: list[logging.LogRecord | _AccessLine]) -> None:
        if not items:
            return
        text = "".join(f"{self._text(item)}\n" for item in items)
        stream = sys.stdout  # whatever it is now (test runners swap it)
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stdout: nothing to write to
            pass

    def _text(self, item: logging.LogRecord | _AccessLine) -> str:
        if isinstance(item, _AccessLine):
            return item.text()
        return self.formatter.format(item)


_output = _Output()


class _ToOutput(logging.Handler):
    """Queues a copy of the record with what only the caller's thread knows: the request's
    fields, the message with its arguments, and the traceback as text."""

    def emit(self, record: logging.LogRecord) -> None:
        queued = copy.copy(record)
        queued.request_fields = request_fields()
        queued.msg, queued.args = record.getMessage(), None
        if record.exc_info:
            queued.exc_text = "".join(traceback.format_exception(*record.exc_info))
            queued.exc_info = None
        _output.submit(queued)


_handler: _ToOutput | None = None


def configure_logging(level: str = "INFO", default_service: str = "platform") -> None:
    """Send every logger's records to stdout as JSON lines, written by a thread of their own; a
    second call changes only the level (and starts the writer again after
    ``write_logs_directly``)."""
    global _handler
    root = logging.getLogger()
    root.setLevel(level.upper())
    if _handler is None:
        _handler = _ToOutput()
        _output.formatter = JsonFormatter(default_service)
        root.addHandler(_handler)
        atexit.register(write_logs_directly)  # writes what is queued, then ends the thread
        for name in ("uvicorn", "uvicorn.error"):
            logging.getLogger(name).handlers[:] = []
            logging.getLogger(name).propagate = True
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call is noise
        # uvicorn's own access line would duplicate ours, without the request id.
        logging.getLogger("uvicorn.access").disabled = True
    _output.start()


def log_access(method: str, route: str, status: int, duration_ms: float) -> None:
    """The request's access line (logger ``access``, level info), without a LogRecord: it is
    the one line every request writes. Written as any other line when logging is not
    configured here (a handler of the logging module's then gets it)."""
    if access_logger.disabled or not access_logger.isEnabledFor(logging.INFO):
        return
    fields = {"method": method, "route": route, "status": status, "duration_ms": duration_ms}
    if _handler is None:
        access_logger.info("request", extra=fields)
        return
    line: dict[str, Any] = {
        "ts": None,
        "level": "info",
        "service": _output.formatter.default_service,
        "logger": "access",
        "msg": "request",
        **request_fields(),
        **fields,
    }
    _output.submit(_AccessLine(time.time(), line))


def write_logs_directly() -> None:
    """Write what is queued, end the writer thread, and from now on write each line on the
    thread that logs it. An app's lifespan calls it as it stops: uvicorn logs its last lines
    after that and then raises the SIGTERM it caught again, which ends the process without
    running ``atexit``, so anything still queued then would be lost."""
    _output.stop()


def flush_logs() -> None:
    """Wait until every line queued so far is written (tests read the output after this)."""
    _output.flush()
