"""A booking's trace crosses the gateway and two services: appointments, its call to customers,
and both services' SQL share the trace id of the W3C ``traceparent`` the client sent to nginx.

customers and appointments are restarted with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at an
OTLP/HTTP collector in this process that keeps the spans in memory, and restarted without it
afterwards, so the other end-to-end tests run untraced as a default deployment does.
"""

import gzip
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from gateway.stack import READY_TIMEOUT_SECONDS, Stack
from tests.conftest import create_admin
from tests.test_e2e_appointments import People, bearer, new_email, new_password

pytestmark = pytest.mark.e2e
TRACED = ("customers", "appointments")


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    trace_id: str
    name: str
    attributes: dict[str, str]


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver (protobuf) keeping every span it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ExportHandler)
        self.spans: list[ExportedSpan] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def keep(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(
                    ExportedSpan(
                        service=resource.get("service.name", ""),
                        trace_id=span.trace_id.hex(),
                        name=span.name,
                        attributes={a.key: a.value.string_value for a in span.attributes},
                    )
                    for span in scope_spans.spans
                )

    def trace(
        self, trace_id: str, *, servers: set[str], within_seconds: float = 15
    ) -> list[ExportedSpan]:
        """The spans of one trace, once the server spans named ``servers`` have arrived (a
        service exports a request's span when the request ends, after those it made inside)."""
        deadline = time.monotonic() + within_seconds
        while time.monotonic() < deadline:
            spans = [span for span in self.spans if span.trace_id == trace_id]
            if servers <= {span.name for span in spans}:
                return spans
            time.sleep(0.1)
        raise AssertionError(f"trace {trace_id}: {[(s.service, s.name) for s in spans]}")


class _ExportHandler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path == "/v1/traces":
            self.server.keep(ExportTraceServiceRequest.FromString(body))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the spans, not the requests."""


def restart(stack: Stack, env: dict[str, str]) -> None:
    stack.stop(*TRACED)
    stack.env = env
    for name in TRACED:
        stack.start_service(name)
    stack.wait_for_services(time.monotonic() + READY_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def traced_stack(stack: Stack, collector: Collector) -> Iterator[Stack]:
    untraced = dict(stack.env)
    traced = {
        **untraced,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds between exports
    }
    restart(stack, traced)
    yield stack
    restart(stack, untraced)


def test_a_bookings_trace_shows_appointments_its_call_to_customers_and_the_sql(
    traced_stack: Stack, collector: Collector
) -> None:
    http = httpx.Client(base_url=traced_stack.url, timeout=15)
    admin_email, admin_password = new_email("admin"), new_password()
    create_admin(traced_stack, admin_email, admin_password)
    people = People(http, bearer(http, admin_email, admin_password))
    _, receptionist = people.make("receptionist")
    patient_email, _ = people.make("patient")
    doctor_email, doctor = people.make("doctor")
    every_day = [{"weekday": day, "start": "00:00", "end": "23:30"} for day in range(7)]
    hours = http.put(
        f"/appointments/doctors/{doctor_email}/working-hours",
        json={"timezone": "UTC", "hours": every_day},
        headers=doctor,
    )
    assert hours.status_code == 200, hours.text

    trace_id = secrets.token_hex(16)
    day = datetime.now(UTC).date() + timedelta(days=2)
    booking = {
        "patient": patient_email,
        "doctor": doctor_email,
        "starts_at": datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat(),
    }
    traceparent = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    booked = http.post("/appointments", json=booking, headers={**receptionist, **traceparent})
    assert booked.status_code == 201, booked.text

    spans = collector.trace(trace_id, servers={"POST /appointments", "GET /customers/{email}"})
    names = {(span.service, span.name) for span in spans}
    expected = {("appointments", "POST /appointments"), ("customers", "GET /customers/{email}")}
    assert expected <= names
    sql = {span.service for span in spans if "db.statement" in span.attributes}
    assert sql == set(TRACED), names
    everything = repr([span.attributes for span in spans])
    assert patient_email not in everything  # the lookup's path holds the email: never exported
    assert doctor_email not in everything


def test_the_traced_services_log_lines_carry_the_trace_id(
    traced_stack: Stack, collector: Collector
) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    answer = httpx.get(f"{traced_stack.url}/appointments", headers={"traceparent": traceparent})
    assert answer.status_code == 401
    assert traced_stack.log_dir is not None
    log = traced_stack.log_dir / "appointments.log"
    deadline = time.monotonic() + 5
    while f'"trace_id": "{trace_id}"' not in log.read_text():
        assert time.monotonic() < deadline, "no log line carries the trace id"
        time.sleep(0.05)
