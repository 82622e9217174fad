"""The real nginx in front of a stub service: response headers, hidden metrics, the access log.

The stub answers every request 200 with the path it received, echoes the test's ``X-Test-Route``
request header as its ``X-Route`` (the route template the services send), and sends its own
``X-Frame-Options: SAMEORIGIN``, which the gateway must replace; with ``X-Test-Hang-Up`` it closes
the connection unanswered (the gateway's 502). So these tests see exactly what nginx adds, hides
and logs, whatever the real services do.
"""

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.settings import CommonSettings
from common.testing.processes import free_port
from gateway.devserver import routing_table
from gateway.stack import Stack, gateway_values, service_ports, write_nginx_config

pytestmark = pytest.mark.usefixtures("nginx")

PREFIXES = sorted(routing_table())
EMAIL = "alice.hygiene@example.com"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
}


class StubService(BaseHTTPRequestHandler):
    """200 with ``{"path": ...}`` for any method; ``X-Test-Route`` comes back as ``X-Route``."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("X-Test-Hang-Up"):
            self.close_connection = True
            return
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        if route := self.headers.get("X-Test-Route"):
            self.send_header("X-Route", route)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815 (http.server's names)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows nothing of it anyway."""


@dataclass
class Gateway:
    http: httpx.Client
    log: Path

    def entry(self, request_id: str) -> tuple[str, dict[str, Any]]:
        """The raw access-log line of a request and its fields (nginx writes it after answering)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for line in self.log.read_text().splitlines():
                if f'"request_id":"{request_id}"' in line:
                    return line, json.loads(line)
            time.sleep(0.05)
        raise AssertionError(f"no access-log line for {request_id}")

    def get(self, path: str, **headers: str) -> tuple[httpx.Response, str, dict[str, Any]]:
        """GET through the gateway; the response, its raw log line and that line's fields."""
        request_id = f"hygiene-{uuid.uuid4().hex}"
        response = self.http.get(path, headers={"X-Request-ID": request_id, **headers})
        return response, *self.entry(request_id)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """nginx with every upstream on the stub."""
    folder = tmp_path_factory.mktemp("gateway")
    stub = ThreadingHTTPServer(("127.0.0.1", 0), StubService)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    ports = dict.fromkeys(service_ports(), stub.server_port)
    port = free_port()
    values = gateway_values(f"127.0.0.1:{port}", ports, CommonSettings().max_body_bytes)
    nginx = Stack(
        url=f"http://127.0.0.1:{port}",
        port=port,
        ports={},
        env=dict(os.environ),
        log_dir=folder,
        nginx_config=write_nginx_config(folder / "runtime", values),
    )
    nginx.start_nginx()
    try:
        nginx.wait_for_gateway(time.monotonic() + 30)
        with httpx.Client(base_url=nginx.url, timeout=10) as http:
            yield Gateway(http, folder / "nginx.log")
    finally:
        nginx.stop_all()
        stub.shutdown()
        stub.server_close()


def assert_security_headers(response: httpx.Response) -> None:
    """Each header exactly once (a service's own X-Frame-Options replaced, not doubled)."""
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(name) == [value], (name, response.status_code)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_bare_prefix_reaches_the_service_as_it_came(gateway: Gateway, prefix: str) -> None:
    for method in ("GET", "POST"):
        response = gateway.http.request(method, f"/{prefix}?limit=1", json={})
        assert response.status_code == 200, (method, response.text)
        assert response.json() == {"path": f"/{prefix}?limit=1"}


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/customers/e2e", {}, 200),  # proxied (the stub's own X-Frame-Options replaced)
        ("/", {}, 200),  # the index page
        ("/no-such-service", {}, 404),  # the gateway's 404
        ("/points/metrics", {}, 404),  # hidden: the gateway's 404
        ("/matching/healthz", {"X-Test-Hang-Up": "1"}, 502),  # no answer: the gateway's 502
    ],
)
def test_every_response_forbids_sniffing_and_framing(
    gateway: Gateway, path: str, headers: dict[str, str], status: int
) -> None:
    response = gateway.http.get(path, headers=headers)
    assert response.status_code == status
    assert_security_headers(response)


def test_the_gateway_own_errors_carry_the_security_headers_too(gateway: Gateway) -> None:
    limit = CommonSettings().max_body_bytes
    too_large = gateway.http.post("/points/x", content=b"x" * (limit + 1))
    not_allowed = gateway.http.post("/")
    too_many_headers = gateway.http.get("/points/x", headers={"X-Padding": "x" * 10_000})
    for response, status in ((too_large, 413), (not_allowed, 405), (too_many_headers, 431)):
        assert response.status_code == status
        assert_security_headers(response)


@pytest.mark.parametrize(
    "path",
    [
        *(f"/{prefix}/metrics" for prefix in PREFIXES),
        "/points/metrics/",
        "/points/metrics?format=text",
        "/points/metrics/anything",
        "/points//metrics",
        "/points/%6Detrics",
    ],
)
def test_metrics_are_a_gateway_404_and_never_reach_the_service(gateway: Gateway, path: str) -> None:
    response, _, entry = gateway.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"
    assert entry["upstream_addr"] == ""


def test_a_path_that_merely_mentions_metrics_is_proxied(gateway: Gateway) -> None:
    response, _, entry = gateway.get("/points/metrics-report")
    assert response.json() == {"path": "/points/metrics-report"}
    assert entry["upstream_status"] == "200"


def test_the_access_log_records_the_route_template_the_service_names(gateway: Gateway) -> None:
    response, line, entry = gateway.get(
        f"/customers/{EMAIL}?email={EMAIL}", **{"X-Test-Route": "/customers/{email}"}
    )
    assert response.json() == {"path": f"/customers/{EMAIL}?email={EMAIL}"}
    assert entry["route"] == "/customers/{email}"
    assert EMAIL not in line
    assert "x-route" not in response.headers  # for the log only


@pytest.mark.parametrize("prefix", PREFIXES)
def test_without_a_route_template_the_access_log_records_only_the_prefix(
    gateway: Gateway, prefix: str
) -> None:
    response, line, entry = gateway.get(f"/{prefix}/{EMAIL}")
    assert response.status_code == 200
    assert entry["route"] == f"/{prefix}"
    assert EMAIL not in line


@pytest.mark.parametrize(
    ("path", "route", "status"),
    [
        (f"/{EMAIL}/x", "", 404),  # no service: no prefix either
        (f"/matching/{EMAIL}", "/matching", 502),  # no answer, no template: the prefix
        (f"/points/metrics?email={EMAIL}", "/points", 404),
        ("/?q=x", "/", 200),
    ],
)
def test_the_gateway_own_answers_log_no_path(
    gateway: Gateway, path: str, route: str, status: int
) -> None:
    response, line, entry = gateway.get(path, **{"X-Test-Hang-Up": "1"})
    assert response.status_code == status
    assert entry["route"] == route
    assert EMAIL not in line
