"""The `make dev` server as a real process: every service at the gateway URLs, then a clean stop."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.testing.processes import free_port, wait_until_answering

ROOT = Path(__file__).resolve().parents[1]
SERVICES = [s["name"] for s in json.loads((ROOT / "gateway/services.json").read_text())["services"]]


@pytest.fixture(scope="module")
def dev_server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": module_database_url,
        "DATA_DIR": str(tmp_path_factory.mktemp("devdata")),
    }
    process = subprocess.Popen(
        [sys.executable, "gateway/devserver.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/points/healthz", process)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_healthy_and_ready(dev_server: str, service: str) -> None:
    assert httpx.get(f"{dev_server}/{service}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{dev_server}/{service}/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_shows_its_docs(dev_server: str, service: str) -> None:
    docs = httpx.get(f"{dev_server}/{service}/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert f"/{service}/openapi.json" in docs.text
    spec = httpx.get(f"{dev_server}/{service}/openapi.json").json()
    assert f"/{service}/healthz" in spec["paths"]


def test_an_unknown_path_is_a_problem(dev_server: str) -> None:
    response = httpx.get(f"{dev_server}/no-such-service/x", headers={"X-Request-ID": "probe-1"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "probe-1"
    assert response.json()["instance"] == "/no-such-service/x"
    assert response.json()["request_id"] == "probe-1"


def test_the_index_links_every_docs_page(dev_server: str) -> None:
    index = httpx.get(f"{dev_server}/").text
    for service in SERVICES:
        assert f'href="/{service}/docs"' in index


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_are_refused_on_the_dev_port_as_by_the_gateway(
    dev_server: str, service: str
) -> None:
    for path in (f"/{service}/metrics", f"/{service}/metrics/"):
        response = httpx.get(f"{dev_server}{path}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert "http_requests_total" not in response.text


def test_a_rotating_x_forwarded_for_does_not_escape_the_login_throttle(dev_server: str) -> None:
    """uvicorn believed X-Forwarded-For from loopback: each new value was a new address."""
    statuses = []
    for attempt in range(22):
        response = httpx.post(
            f"{dev_server}/auth/login",
            json={"email": f"nobody-{attempt}@example.com", "password": "not-the-password"},
            headers={"X-Forwarded-For": f"198.51.100.{attempt}"},
            timeout=30,
        )
        statuses.append(response.status_code)
    # CUSTOMERS_LOGIN_MAX_FAILURES_PER_ADDRESS is 20 by default; every attempt had one address.
    assert statuses == [401] * 20 + [429] * 2
