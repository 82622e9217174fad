"""One ASGI middleware per app: request id, body limit, access log, metrics, last-resort 500."""

import json
import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.context import RequestContext, reset_current_request, set_current_request
from common.problems import PROBLEM_JSON, problem_body

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_logger = logging.getLogger("access")
error_logger = logging.getLogger("errors")


class HttpMetrics:
    """Request count and latency by method, route template and status, in the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("method", "route", "status")
        self.requests = Counter("http_requests", "HTTP requests served", labels, registry=registry)
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to serve a request", labels, registry=registry
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)


def request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is 1-128 safe characters, else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, *, service: str, metrics: HttpMetrics, max_body_bytes: int
    ) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(service=self.service, request_id=request_id(scope))
        context_token = set_current_request(context)
        started = time.perf_counter()
        response: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", context.request_id.encode()),
                ]
            await send(message)

        try:
            length = _content_length(scope)
            if length is not None and length > self.max_body_bytes:
                await self._send_problem(scope, send_with_request_id, 413, self._too_large())
            else:
                await self.app(scope, self._limited(receive), send_with_request_id)
        except Exception:
            error_logger.exception("unhandled error")
            if not response["started"]:
                await self._send_problem(scope, send_with_request_id, 500, None)
        finally:
            self._record(scope, context, response["status"], time.perf_counter() - started)
            reset_current_request(context_token)

    def _too_large(self) -> str:
        return f"The body is larger than {self.max_body_bytes} bytes"

    def _limited(self, receive: Receive) -> Receive:
        """Count streamed body bytes; past the limit the app sees a 413.

        An HTTPException (not a ProblemError) because FastAPI turns any other error raised while
        reading the body into a 400.
        """
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(413, self._too_large())
            return message

        return receive_limited

    @staticmethod
    async def _send_problem(scope: Scope, send: Send, status: int, detail: str | None) -> None:
        body = json.dumps(problem_body(status, instance=scope["path"], detail=detail)).encode()
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, context: RequestContext, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", "unmatched")
        self.metrics.observe(scope["method"], template, status, seconds)
        access_logger.info(
            "request",
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
