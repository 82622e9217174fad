"""One ASGI middleware per app: request id, body limit, retries, access log, metrics, last resort.

Around every request it: refuses a NUL in the path or query (400) and a body over the route's
limit (413); runs the request again, body replayed, when the database answers with a
serialization failure or deadlock (then 503 with ``Retry-After``) or a pooled connection is found
dead before the attempt committed; answers 503 while the database
is unreachable and 500 for anything else unhandled, as problem+json; adds ``X-Request-ID``,
``X-Route`` (the route template, which the gateway logs instead of the path) and, on answers to
authenticated requests, ``Cache-Control: no-store``; and logs and counts the request by its
route template, never its raw path.
"""

import asyncio
import json
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.context import RequestContext, reset_current_request, set_current_request
from common.database import (
    constraint_name,
    is_retryable,
    is_stale_connection,
    is_timed_out,
    is_unavailable,
    sqlstate,
)
from common.logging import log_access
from common.problems import PROBLEM_JSON, problem_body

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REPLAYABLE_BODY_BYTES = 1_048_576  # a larger body is streamed through once, never retried
BUSY = "The database was too busy to finish the request; try again"
error_logger = logging.getLogger("errors")


class HttpMetrics:
    """Request count and latency by method, route template and status, in the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("method", "route", "status")
        self.requests = Counter("http_requests", "HTTP requests served", labels, registry=registry)
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to serve a request", labels, registry=registry
        )
        self.retries = Counter(
            "db_transaction_retries",
            "Requests run again after a serialization failure or deadlock",
            ("route",),
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # prometheus_client's labels() costs more than the count itself
            labels = (method, route, str(status))
            children = self.requests.labels(*labels), self.latency.labels(*labels)
            self._children[key] = children
        count, latency = children
        count.inc()
        latency.observe(seconds)


def request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is 1-128 safe characters, else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return secrets.token_hex(16)


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value)
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/customers/{email}``), or ``unmatched``."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


class TooLarge(HTTPException):
    """The streamed body passed the limit.

    An HTTPException (not a ProblemError) because FastAPI turns any other error raised while
    reading the body into a 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The body is larger than {limit} bytes")


@dataclass
class ReplayableBody:
    """Reads the body through a limit and keeps it, so a retried attempt can read it again."""

    receive: Receive
    limit: int
    messages: list[Message] = field(default_factory=list)
    received: int = 0
    replayable: bool = True

    def for_attempt(self) -> Receive:
        replay = list(self.messages)

        async def receive() -> Message:
            if replay:
                return replay.pop(0)
            message = await self.receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    raise TooLarge(self.limit)
                self._keep(message)
            return message

        return receive

    def _keep(self, message: Message) -> None:
        if self.replayable and self.received <= REPLAYABLE_BODY_BYTES:
            self.messages.append(message)
        else:
            self.replayable, self.messages = False, []


@dataclass
class ResponseState:
    status: int = 500
    started: bool = False


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        metrics: HttpMetrics,
        max_body_bytes: int,
        body_limits: Mapping[str, int] | None = None,
        attempts: int = 3,
    ) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.body_limits = dict(body_limits or {})
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(service=self.service, request_id=request_id(scope))
        context_token = set_current_request(context)
        started = time.perf_counter()
        response = ResponseState()
        send_marked = self._marking(scope, context, response, send)
        try:
            limit = self.body_limit(scope["path"])
            length = _content_length(scope)
            if _has_nul(scope):
                await _send_problem(scope, send_marked, 400, "The path or query has a NUL byte")
            elif length is not None and length > limit:
                await _send_problem(scope, send_marked, 413, TooLarge(limit).detail)
            else:
                await self._run(scope, context, ReplayableBody(receive, limit), send_marked)
        except Exception as exc:
            await self._last_resort(scope, send_marked, response, exc)
        finally:
            self._record(scope, context, response.status, time.perf_counter() - started)
            reset_current_request(context_token)

    def body_limit(self, path: str) -> int:
        """The route's own limit (an exact path, or a prefix ending in ``/``), else the default."""
        for route, limit in self.body_limits.items():
            if path == route or (route.endswith("/") and path.startswith(route)):
                return limit
        return self.max_body_bytes

    async def _run(
        self, scope: Scope, context: RequestContext, body: ReplayableBody, send: Send
    ) -> None:
        """Run the request; again, while nothing was sent yet, when the database asks for a
        retry or a pooled connection was found dead before the attempt committed anything.

        The attempt's driver transaction (``common.sql``) ends with its answer: committed as a
        success (status below 400) starts, rolled back for an error answer or an exception."""
        for attempt in range(1, self.attempts + 1):
            sent = False

            async def send_tracked(message: Message) -> None:
                nonlocal sent
                if message["type"] == "http.response.start":
                    await context.end_work(commit=message["status"] < 400)
                sent = True
                await send(message)

            context.committed = False
            try:
                await self.app(scope, body.for_attempt(), send_tracked)
                return
            except Exception as exc:
                await context.end_work(commit=False)
                stale = is_stale_connection(exc) and not context.committed
                if sent or not body.replayable or not (stale or is_retryable(exc)):
                    raise
                if attempt == self.attempts:
                    if stale:
                        raise  # the last resort answers 503: the database is unavailable
                    await _send_problem(scope, send, 503, BUSY, headers={"retry-after": "1"})
                    return
                if stale:
                    error_logger.warning("a pooled database connection was dead; running again")
                else:
                    self.metrics.retries.labels(route_template(scope)).inc()
            finally:
                await context.end_work(commit=False)  # one left open by an app that never answered

    def _marking(
        self, scope: Scope, context: RequestContext, response: ResponseState, send: Send
    ) -> Send:
        authenticated = _header(scope, b"authorization") is not None

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.status, response.started = message["status"], True
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if not (message["status"] == 204 and name.lower() == b"content-type")
                ]
                headers.append((b"x-request-id", context.request_id.encode()))
                if "route" in scope:
                    headers.append((b"x-route", route_template(scope).encode()))
                names = {name.lower() for name, _ in headers}
                if authenticated and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        return send_marked

    async def _last_resort(
        self, scope: Scope, send: Send, response: ResponseState, exc: Exception
    ) -> None:
        """503 while the database is down, 500 for anything else; logged without values."""
        if is_unavailable(exc):
            error_logger.warning("database unavailable", extra={"error": type(exc).__name__})
            status, detail = 503, "The database is unavailable; try again shortly"
        elif is_retryable(exc):  # a body too large to replay: the client retries instead
            status, detail = 503, BUSY
        elif is_timed_out(exc):
            error_logger.warning("statement timeout", extra={"route": route_template(scope)})
            status, detail = 503, "The database took too long for this request; ask for less"
        elif sqlstate(exc) is not None:
            error_logger.error(
                "database error",
                extra={
                    "error": type(exc).__name__,
                    "sqlstate": sqlstate(exc),
                    "constraint": constraint_name(exc),
                },
            )
            status, detail = 500, None
        else:
            error_logger.exception("unhandled error")
            status, detail = 500, None
        if not response.started:
            headers = {"retry-after": "1"} if status == 503 else None
            await _send_problem(scope, send, status, detail, headers=headers)

    def _record(self, scope: Scope, context: RequestContext, status: int, seconds: float) -> None:
        template = route_template(scope)
        self.metrics.observe(scope["method"], template, status, seconds)
        log_access(scope["method"], template, status, round(seconds * 1000, 2))


def _has_nul(scope: Scope) -> bool:
    return "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")


async def _send_problem(
    scope: Scope,
    send: Send,
    status: int,
    detail: str | None,
    headers: Mapping[str, str] | None = None,
) -> None:
    body = json.dumps(problem_body(status, instance=scope["path"], detail=detail)).encode()
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", b"%d" % len(body)),
        *((name.encode(), value.encode()) for name, value in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class CancelOnDisconnect:
    """Cancels a request's handler when its client goes away before the answer, so that its
    statement stops too (asyncpg sends PostgreSQL a cancel request when the awaiting task is
    cancelled) instead of running to the end for nobody.

    A watcher task is the one reader of ``receive`` (two readers would steal each other's
    messages) and hands the app its messages through a queue of one, so a body still streams
    in at the pace the app reads it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        handler = asyncio.current_task()
        assert handler is not None
        messages: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        gone: Message | None = None
        answered = cancelled = False

        async def watch() -> None:
            nonlocal gone, cancelled
            while gone is None:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone = message
                    if not answered:
                        cancelled = True
                        handler.cancel()
                await messages.put(message)

        async def receive_watched() -> Message:
            if gone is not None and messages.empty():
                return gone
            return await messages.get()

        async def send_watched(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        watcher = asyncio.create_task(watch())
        try:
            await self.app(scope, receive_watched, send_watched)
        except asyncio.CancelledError:
            if not cancelled:
                raise
            handler.uncancel()  # the client is gone: nobody to answer
        finally:
            watcher.cancel()
