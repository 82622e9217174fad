"""OpenTelemetry traces: off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, and then nothing of
OpenTelemetry is imported (a request pays nothing for traces nobody collects).

When on, each app's requests, its SQL (``common.sql``'s statements) and its outgoing calls (httpx)
become spans
exported over OTLP/HTTP; a W3C ``traceparent`` received is continued and one sent is injected, so
a booking's trace shows appointments, its call to customers and both services' SQL. Spans carry
route templates, never raw paths, queries or full URLs: those hold emails (``/customers/{email}``).
The standard ``OTEL_*`` variables configure the exporter and the batching.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from common import logging as json_logging
from common import sql

if TYPE_CHECKING:
    from opentelemetry.trace import Span

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
REDACTED = "[redacted]"
# Attributes of the ASGI and httpx spans that would carry a raw path, a query or a full URL.
_URL_ATTRIBUTES = ("http.target", "http.url", "url.path", "url.query", "url.full")


def tracing_enabled() -> bool:
    return bool(os.environ.get(ENDPOINT_VARIABLE))


def instrument_app(app: FastAPI, service: str) -> None:
    """Trace ``app`` (and, once per process, its SQL and httpx) when tracing is enabled."""
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    _start_process_tracing(service)
    FastAPIInstrumentor.instrument_app(
        app,
        server_request_hook=_redact_server_span,
        excluded_urls=f"/{service}/(healthz|readyz|metrics)$",
        exclude_spans=["receive", "send"],
    )


def _start_process_tracing(service: str) -> None:
    """The process's tracer provider, its statement spans and httpx instrumentation, set up once.

    A provider already installed (by an OpenTelemetry distribution, or by a test) is kept.
    """
    from opentelemetry import trace
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(_otlp_provider(service))
    if not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry:
        HTTPXClientInstrumentor().instrument(async_request_hook=_redact_client_span)
    json_logging.trace_ids = _current_trace_id
    sql.statement_spans = _statement_span


def _otlp_provider(service: str) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _redact_server_span(span: "Span", scope: dict[str, Any]) -> None:
    """The server span keeps the route template (set later by FastAPI's instrumentation) only."""
    if span.is_recording():
        for attribute in _URL_ATTRIBUTES:
            span.set_attribute(attribute, REDACTED)


async def _redact_client_span(span: "Span", request: Any) -> None:
    """An outgoing call's span names the host it called, not the path (``/customers/{email}``)."""
    if span.is_recording():
        url = request.url  # an httpx.URL on httpx 0.20 and later
        span.set_attribute("url.full", f"{url.scheme}://{url.netloc.decode()}")
        span.set_attribute("http.url", REDACTED)


@contextmanager
def _statement_span(statement: str) -> Iterator[None]:
    """A driver statement as OpenTelemetry's database conventions have it: a client span named by
    its first word, with ``db.system`` and the statement's text, never its values; an error by
    its type only (its text may quote a value a constraint refused)."""
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    words = statement.split(None, 1)
    with trace.get_tracer("common.sql").start_as_current_span(
        words[0] if words else "postgresql",
        kind=SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": statement},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def _current_trace_id() -> str | None:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
