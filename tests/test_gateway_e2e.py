"""Through the real nginx: every service in its own process, as `make stack` runs them."""

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from common.settings import CommonSettings
from gateway.devserver import routing_table
from gateway.stack import Stack, service_ports
from tests.conftest import create_admin

pytestmark = pytest.mark.e2e

SERVICES = list(service_ports())
ROUTES = routing_table()
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


def new_request_id() -> str:
    return f"e2e-{uuid.uuid4().hex}"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """A problem+json response with every field, whose request id is the one in the header."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.fixture(scope="module")
def http(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=10)


def direct_url(stack: Stack, path: str) -> str:
    """``path`` on the service that owns its prefix, bypassing nginx."""
    service = ROUTES[urlsplit(path).path.split("/")[1]]
    return f"http://127.0.0.1:{stack.ports[service]}{path}"


@pytest.fixture(scope="module")
def admin(stack: Stack, http: httpx.Client) -> tuple[str, dict[str, str]]:
    """An admin made with customers' command line, as the README says: its email and headers."""
    email = f"e2e-admin-{uuid.uuid4().hex[:12]}@example.com"
    password = f"admin-{uuid.uuid4().hex}"
    create_admin(stack, email, password)
    login = http.post("/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return email, {"Authorization": f"Bearer {login.json()['access_token']}"}


def bare_methods(stack: Stack, prefix: str) -> list[str]:
    """GET, and every method the owning service's OpenAPI lists on the bare ``/<prefix>``."""
    spec = httpx.get(direct_url(stack, f"/{ROUTES[prefix]}/openapi.json")).json()
    listed = spec["paths"].get(f"/{prefix}", {})
    methods = {
        "get",
        *(method for method in listed if method in {"post", "put", "patch", "delete"}),
    }
    return sorted(method.upper() for method in methods)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_healthy_and_ready_through_the_gateway(
    http: httpx.Client, service: str
) -> None:
    assert http.get(f"/{service}/healthz").json() == {"status": "ok"}
    assert http.get(f"/{service}/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize("service", SERVICES)
def test_docs_render_and_load_their_openapi_under_the_prefix(
    http: httpx.Client, service: str
) -> None:
    docs = http.get(f"/{service}/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert f"/{service}/openapi.json" in docs.text
    spec = http.get(f"/{service}/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == service
    assert f"/{service}/healthz" in spec.json()["paths"]


@pytest.mark.parametrize(("prefix", "service"), sorted(ROUTES.items()))
def test_every_prefix_reaches_the_service_that_owns_it(
    stack: Stack, http: httpx.Client, access_log: Any, prefix: str, service: str
) -> None:
    request_id = new_request_id()
    response = http.get(f"/{prefix}/e2e-probe", headers={"X-Request-ID": request_id})
    entry = access_log.entry(request_id)
    assert entry["upstream_addr"] == f"127.0.0.1:{stack.ports[service]}"
    assert entry["upstream_status"] == str(response.status_code)


@pytest.mark.parametrize("prefix", sorted(ROUTES))
def test_the_bare_prefix_answers_as_the_service_does_directly(
    stack: Stack, http: httpx.Client, admin: tuple[str, dict[str, str]], prefix: str
) -> None:
    """No 301 to /prefix/ and 307 back, for every operation the OpenAPI lists on /prefix
    (``GET /customers``, ``POST /customers``; a service adding ``GET /points`` is covered as it
    lands) and for GET, served or not."""
    for method in bare_methods(stack, prefix):
        headers = {**admin[1], "X-Request-ID": new_request_id()}
        body: dict[str, Any] | None = None if method == "GET" else {}  # invalid both ways
        path = f"/{prefix}?limit=1"
        through_gateway = http.request(method, path, headers=headers, json=body)
        direct = httpx.request(method, direct_url(stack, path), headers=headers, json=body)
        assert not through_gateway.is_redirect, (method, through_gateway.headers.get("location"))
        assert through_gateway.status_code == direct.status_code, method
        assert through_gateway.headers["content-type"] == direct.headers["content-type"]
        if method == "GET":
            assert through_gateway.content == direct.content


def test_an_admin_lists_and_creates_customers_through_the_gateway(
    http: httpx.Client, admin: tuple[str, dict[str, str]]
) -> None:
    """The routes the redirect loop made unreachable in compose and Kubernetes."""
    email = f"e2e-record-{uuid.uuid4().hex[:12]}@example.com"
    created = http.post("/customers", headers=admin[1], json={"email": email})
    assert created.status_code == 201, created.text
    listing = http.get("/customers", headers=admin[1], params={"email_prefix": email})
    assert [item["email"] for item in listing.json()["items"]] == [email]


def test_an_unknown_path_is_a_problem_from_the_gateway(http: httpx.Client, access_log: Any) -> None:
    body = assert_problem(http.get("/no-such-service/x?q=1"), 404)
    assert body["instance"] == "/no-such-service/x"
    assert body["title"] == "Not Found"
    assert access_log.entry(body["request_id"])["upstream_addr"] == ""


def test_the_index_links_every_docs_page(http: httpx.Client) -> None:
    index = http.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    for service in SERVICES:
        assert f'href="/{service}/docs"' in index.text


def test_a_method_the_gateway_does_not_serve_is_a_problem(http: httpx.Client) -> None:
    assert_problem(http.post("/"), 405)


def test_oversized_headers_are_a_431_problem(http: httpx.Client) -> None:
    assert_problem(http.get("/points/healthz", headers={"X-Padding": "x" * 10_000}), 431)


def test_a_service_problem_passes_through_unchanged(stack: Stack, http: httpx.Client) -> None:
    headers = {"X-Request-ID": new_request_id()}
    through_gateway = http.get("/points/no-such-thing", headers=headers)
    service_url = f"http://127.0.0.1:{stack.ports['points']}"
    direct = httpx.get(f"{service_url}/points/no-such-thing", headers=headers)
    assert direct.status_code == 404
    assert through_gateway.status_code == direct.status_code
    assert through_gateway.headers["content-type"] == direct.headers["content-type"]
    assert through_gateway.content == direct.content


def test_the_client_request_id_reaches_the_service_and_comes_back(http: httpx.Client) -> None:
    request_id = new_request_id()
    response = http.get("/points/no-such-thing", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id
    assert assert_problem(response, 404)["request_id"] == request_id


def test_without_a_request_id_the_gateway_makes_one_the_service_uses(http: httpx.Client) -> None:
    response = http.get("/matching/no-such-thing")
    assert GENERATED_ID.match(response.headers["x-request-id"])
    assert assert_problem(response, 404)["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/no-such-service/x", "/points/no-such-thing"])
def test_a_malformed_request_id_is_replaced_not_echoed(http: httpx.Client, path: str) -> None:
    response = http.get(path, headers={"X-Request-ID": 'x", "status": 200, "y": "'})
    assert GENERATED_ID.match(response.headers["x-request-id"])
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/points/healthz/", "/points/healthz"),
        ("/points/balance/", "/points/balance"),
        ("/customers/?limit=5", "/customers?limit=5"),
    ],
)
@pytest.mark.parametrize("host", [None, "evil.example"])
def test_redirects_are_relative_never_to_the_clients_host(
    http: httpx.Client, path: str, location: str, host: str | None
) -> None:
    """``Host: evil.example`` came back as ``Location: http://evil.example/...``."""
    response = http.get(path, headers={"Host": host} if host else {})
    assert response.status_code == 307
    assert response.headers["location"] == location


def test_a_body_over_the_limit_is_refused_by_the_gateway(
    http: httpx.Client, access_log: Any
) -> None:
    limit = CommonSettings().max_body_bytes
    response = http.post("/points/anything", content=b"x" * (limit + 1))
    body = assert_problem(response, 413)
    assert str(limit) in body["detail"]
    entry = access_log.entry(body["request_id"])
    assert (entry["method"], entry["upstream_addr"]) == ("POST", "")


def test_a_body_at_the_limit_reaches_the_service(http: httpx.Client, access_log: Any) -> None:
    limit = CommonSettings().max_body_bytes
    request_id = new_request_id()
    response = http.post(
        "/points/anything", content=b"x" * limit, headers={"X-Request-ID": request_id}
    )
    assert response.status_code != 413
    assert access_log.entry(request_id)["upstream_status"] == str(response.status_code)


def test_the_access_log_is_json_with_request_id_status_and_upstream_time(
    stack: Stack, http: httpx.Client, access_log: Any
) -> None:
    request_id = new_request_id()
    response = http.get("/occupancy/healthz", headers={"X-Request-ID": request_id})
    entry = access_log.entry(request_id)
    assert entry["status"] == 200
    # the route template the service sends in X-Route, else only the prefix
    direct = httpx.get(direct_url(stack, "/occupancy/healthz"))
    assert entry["route"] == direct.headers.get("x-route", "/occupancy")
    assert "x-route" not in response.headers
    assert float(entry["upstream_response_time"]) >= 0
    assert isinstance(entry["request_time"], float)


def test_the_access_log_carries_no_email_from_the_path(
    http: httpx.Client, access_log: Any, admin: tuple[str, dict[str, str]]
) -> None:
    email, headers = admin
    request_id = new_request_id()
    response = http.get(f"/customers/{email}", headers={**headers, "X-Request-ID": request_id})
    assert response.json()["email"] == email
    assert access_log.entry(request_id)["route"] == "/customers/{email}"
    line = next(line for line in access_log.path.read_text().splitlines() if request_id in line)
    assert email not in line


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_are_served_to_the_scraper_directly_not_through_the_gateway(
    stack: Stack, http: httpx.Client, service: str
) -> None:
    assert_problem(http.get(f"/{service}/metrics"), 404)
    direct = httpx.get(direct_url(stack, f"/{service}/metrics"))
    assert direct.status_code == 200
    assert direct.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/customers/healthz", "/points/no-such-thing", "/nowhere", "/"])
def test_every_answer_forbids_sniffing_and_framing(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert response.headers.get_list("x-frame-options") == ["DENY"]
    assert "frame-ancestors 'none'" in response.headers.get_list("content-security-policy")


def test_a_stopped_service_is_a_502_problem_and_heals_when_it_is_back(
    stack: Stack, http: httpx.Client
) -> None:
    stack.stop("matching")
    try:
        body = assert_problem(http.get("/matching/healthz"), 502)
        assert body["instance"] == "/matching/healthz"
        assert body["title"] == "Bad Gateway"
    finally:
        stack.start_service("matching")
        stack.wait_until_ready()
    assert http.get("/matching/healthz").status_code == 200


def test_signup_login_and_me_through_the_gateway(http: httpx.Client) -> None:
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
    password = f"gateway-{uuid.uuid4().hex}"
    signup = http.post("/auth/signup", json={"email": email, "password": password})
    assert signup.status_code == 201, signup.text
    form = {"username": email, "password": password}  # as Swagger's Authorize button sends it
    tokens = http.post("/auth/login", data=form).json()
    me = http.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["email"] == email


def test_the_login_throttle_counts_the_client_behind_the_gateway(http: httpx.Client) -> None:
    """nginx adds the client to X-Forwarded-For; customers counts that address, not nginx's."""
    limit = 20  # CUSTOMERS_LOGIN_MAX_FAILURES_PER_ADDRESS's default

    def failed_login(client: str) -> httpx.Response:
        body = {"email": f"nobody-{uuid.uuid4().hex}@example.com", "password": "wrong-password"}
        return http.post("/auth/login", json=body, headers={"X-Forwarded-For": client})

    noisy, quiet = "198.51.100.7", "198.51.100.8"
    assert [failed_login(noisy).status_code for _ in range(limit)] == [401] * limit
    assert_problem(failed_login(noisy), 429)
    assert failed_login(quiet).status_code == 401
