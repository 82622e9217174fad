"""Traces: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; when on, a request's spans continue the
caller's W3C trace, include its SQL, carry no raw path, and the log lines carry the trace id."""

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from common import logging as json_logging
from common import sql
from common.app import create_service_app
from common.settings import CommonSettings
from common.sql import DbTransaction, Sql
from common.testing.plugin import ServiceUnderTest

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
SECRET_IN_PATH = "alice@example.com"

exporter = InMemorySpanExporter()
LENGTH = Sql.of("SELECT length(:email)")


def traced_router() -> APIRouter:
    router = APIRouter(prefix="/traced")

    @router.get("/people/{email}")
    async def person(email: str, transaction: DbTransaction) -> dict[str, int]:
        return {"length": int(await transaction.fetchval(LENGTH, email=email))}

    return router


def create_traced_app(settings: CommonSettings) -> FastAPI:
    return create_service_app(name="traced", settings=settings, routers=[traced_router()])


@pytest.fixture(scope="module")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("traced", None, create_traced_app, CommonSettings)


@pytest.fixture(autouse=True)
def tracing_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Traces on, into memory; the process-wide instrumentation is undone afterwards."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # never reached
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
    exporter.clear()
    yield
    HTTPXClientInstrumentor().uninstrument()
    json_logging.trace_ids = None
    sql.statement_spans = None


def spans_of_trace(trace_id: str) -> list[ReadableSpan]:
    return [
        span
        for span in exporter.get_finished_spans()
        if format(span.context.trace_id, "032x") == trace_id
    ]


async def test_a_request_continues_the_callers_trace_with_its_sql_and_no_raw_path(
    app: FastAPI, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await client.get(
        f"/traced/people/{SECRET_IN_PATH}", headers={"traceparent": TRACEPARENT}
    )
    assert response.status_code == 200
    spans = spans_of_trace(TRACE_ID)
    server = [span for span in spans if span.kind == trace.SpanKind.SERVER]
    assert [span.name for span in server] == ["GET /traced/people/{email}"]
    assert any(span.attributes and "db.statement" in span.attributes for span in spans), [
        span.name for span in spans
    ]
    exported = json.dumps([dict(span.attributes or {}) for span in spans])
    assert SECRET_IN_PATH not in exported
    assert "alice%40example.com" not in exported
    access = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"access"' in line
    ]
    assert [line["trace_id"] for line in access] == [TRACE_ID]
    FastAPIInstrumentor.uninstrument_app(app)


async def test_statements_are_spans_of_the_request_without_their_values(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        f"/traced/people/{SECRET_IN_PATH}", headers={"traceparent": TRACEPARENT}
    )
    assert response.json() == {"length": len(SECRET_IN_PATH)}
    statements = [
        span
        for span in spans_of_trace(TRACE_ID)
        if span.kind == trace.SpanKind.CLIENT and span.attributes
    ]
    assert [span.attributes["db.statement"] for span in statements] == [LENGTH.text]
    assert SECRET_IN_PATH not in json.dumps([dict(span.attributes or {}) for span in statements])
    FastAPIInstrumentor.uninstrument_app(app)


async def test_health_checks_make_no_spans(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (await client.get("/traced/healthz", headers={"traceparent": TRACEPARENT})).is_success
    assert spans_of_trace(TRACE_ID) == []
    FastAPIInstrumentor.uninstrument_app(app)


def test_with_no_endpoint_no_instrumentation_is_loaded() -> None:
    """Traces cost nothing when off: no SDK, exporter or instrumentation is even imported (the
    OpenTelemetry API is: FastAPI imports it for its own telemetry, which common turns off)."""
    program = (
        "import sys\n"
        "from points.main import create_app\n"
        "create_app()\n"
        "kinds = ('sdk', 'instrumentation', 'exporter')\n"
        "prefixes = tuple(f'opentelemetry.{kind}' for kind in kinds)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(prefixes))\n"
        "assert not loaded, loaded\n"
    )
    env = {"PATH": "/usr/bin:/bin", "POINTS_ENV": "test"}
    result = subprocess.run(  # noqa: S603 (our own interpreter and program)
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
