"""Personal data stays out of logs: a customer's whole journey through the gateway, then a grep.

Every email, password and token the journey used is searched for in everything the stack wrote
(each service's log and nginx's, in the stack's log folder) and in every service's metrics. The
services log and count requests by route template (``/customers/{email}``), never the raw path,
and nginx logs the ``X-Route`` they send, which it hides from clients.
"""

import uuid
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest

from gateway.devserver import routing_table
from gateway.stack import Stack, service_ports
from tests.conftest import AccessLog

pytestmark = pytest.mark.e2e

PREFIXES = sorted(routing_table())


@dataclass
class Journey:
    """What a customer sent while using the platform: none of it may reach a log."""

    email: str
    password: str
    wrong_password: str
    new_password: str
    secrets: list[str]

    def add_tokens(self, tokens: dict[str, str]) -> None:
        self.secrets += [tokens["access_token"], tokens["refresh_token"]]
        self.secrets.append(tokens["access_token"].rsplit(".", 1)[1])  # the signature alone


def new_journey() -> Journey:
    tag = uuid.uuid4().hex[:12]
    email = f"privacy-{tag}@example.com"
    journey = Journey(
        email=email,
        password=f"violet-harbor-{tag}",
        wrong_password=f"amber-canyon-{tag}",
        new_password=f"marble-orchid-{tag}",
        secrets=[],
    )
    journey.secrets += [
        email,
        quote(email, safe=""),
        f"privacy-{tag}",
        journey.password,
        journey.wrong_password,
        journey.new_password,
    ]
    return journey


def ok(response: httpx.Response, status: int) -> httpx.Response:
    assert response.status_code == status, response.text
    return response


def walk(http: httpx.Client, journey: Journey) -> str:
    """Sign up, sign in (form, JSON, a wrong password), send the email and token where they do
    not belong, refresh, ask for a reset, change the password, sign in again, sign out.

    Returns the last request's id, whose log line ends the run.
    """
    email, password = journey.email, journey.password
    ok(http.post("/auth/signup", json={"email": email, "password": password}), 201)
    ok(http.post("/auth/login", json={"email": email, "password": journey.wrong_password}), 401)
    form = {"username": email, "password": password, "grant_type": "password"}
    journey.add_tokens(ok(http.post("/auth/login", data=form), 200).json())
    tokens = ok(http.post("/auth/login", json={"email": email, "password": password}), 200).json()
    journey.add_tokens(tokens)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    ok(http.get("/auth/me", headers=bearer), 200)
    ok(http.get(f"/customers/{email}", headers=bearer), 200)
    ok(http.patch(f"/customers/{email}", headers=bearer, json={"language": "de"}), 200)
    http.get("/customers", headers=bearer, params={"email_prefix": email})
    for prefix in PREFIXES:  # a path and a query string carrying what they should not
        http.get(
            f"/{prefix}/{email}", headers=bearer, params={"access_token": tokens["access_token"]}
        )
    refreshed = ok(http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 200)
    journey.add_tokens(refreshed.json())
    bearer = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    ok(http.post("/auth/password-reset/request", json={"email": email}), 202)
    change = {"current_password": password, "new_password": journey.new_password}
    ok(http.post("/auth/password/change", headers=bearer, json=change), 204)
    final = {"email": email, "password": journey.new_password}
    tokens = ok(http.post("/auth/login", json=final), 200).json()
    journey.add_tokens(tokens)
    last = http.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    return ok(last, 204).headers["x-request-id"]


@pytest.fixture(scope="module")
def journey(stack: Stack, access_log: AccessLog) -> Journey:
    """The journey, walked once through the gateway; its last line is logged when this returns."""
    walked = new_journey()
    with httpx.Client(base_url=stack.url, timeout=10) as http:
        access_log.entry(walk(http, walked))
    return walked


def leaks(text: str, journey: Journey) -> list[str]:
    return [secret for secret in journey.secrets if secret in text]


def test_no_log_of_the_stack_holds_an_email_password_or_token(
    stack: Stack, journey: Journey
) -> None:
    assert stack.log_dir is not None
    logs = sorted(stack.log_dir.glob("*.log"))
    assert {path.stem for path in logs} >= {"nginx", *stack.ports}
    found = {path.name: leaks(path.read_text(), journey) for path in logs}
    leaked = {name: secrets for name, secrets in found.items() if secrets}
    assert leaked == {}, f"personal data in {sorted(leaked)}: {leaked}"


def test_the_logs_record_route_templates(stack: Stack, journey: Journey) -> None:
    assert stack.log_dir is not None
    customers_log = (stack.log_dir / "customers.log").read_text()
    assert '"/customers/{email}"' in customers_log
    gateway_log = (stack.log_dir / "nginx.log").read_text()
    assert '"/customers/{email}"' in gateway_log


def test_the_gateway_hides_the_route_header(stack: Stack, journey: Journey) -> None:
    response = httpx.get(f"{stack.url}/customers/healthz")
    assert response.status_code == 200
    assert "x-route" not in response.headers


@pytest.mark.parametrize("service", sorted(service_ports()))
def test_metrics_count_route_templates_not_paths(
    stack: Stack, journey: Journey, service: str
) -> None:
    metrics = httpx.get(f"http://127.0.0.1:{stack.ports[service]}/{service}/metrics")
    assert metrics.status_code == 200
    assert f'route="/{service}/readyz"' in metrics.text
    assert leaks(metrics.text, journey) == []
