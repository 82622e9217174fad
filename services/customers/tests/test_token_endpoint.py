"""``POST /auth/token`` by hand: every grant, and errors in RFC 6749 section 5.2's shape."""

import json
import re
from typing import Any

import pytest
from jose import jwt
from passlib.hash import argon2

SECRET = "s3cr3t-for-appointments-0123456789"
CLIENT = ("appointments", SECRET)
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


@pytest.fixture
def settings_overrides(fast_settings: dict[str, Any]) -> dict[str, Any]:
    secret_hash = argon2.using(type="ID", memory_cost=8, rounds=1, parallelism=1).hash(SECRET)
    return {
        **fast_settings,
        "service_clients": {"appointments": secret_hash},
        "login_max_failures_per_email": 2,
    }


def assert_oauth_error(response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json().keys() == {"error", "error_description"}
    assert response.json()["error"] == error
    assert {name: response.headers.get(name) for name in NO_STORE} == NO_STORE


async def test_a_service_token_reads_customers_and_is_not_cached(api) -> None:
    await api.signup("patient@example.com")
    response = await api.client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=CLIENT
    )
    assert response.status_code == 200, response.text
    assert {name: response.headers[name] for name in NO_STORE} == NO_STORE
    body = response.json()
    assert body.keys() == {"access_token", "token_type", "expires_in"}
    claims = jwt.get_unverified_claims(body["access_token"])
    assert (claims["sub"], claims["roles"]) == ("client:appointments", ["service"])
    assert "email" not in claims
    read = await api.client.get("/customers/patient@example.com", headers=api.bearer(body))
    assert read.status_code == 200
    assert (await api.client.get("/auth/me", headers=api.bearer(body))).status_code == 404


async def test_the_password_grant_gives_a_pair_and_the_refresh_grant_rotates_it(api) -> None:
    await api.signup("pair@example.com")
    login = await api.client.post(
        "/auth/token",
        data={"grant_type": "password", "username": "Pair@Example.com", "password": api.password},
    )
    assert login.status_code == 200, login.text
    assert login.json().keys() == {"access_token", "token_type", "expires_in", "refresh_token"}
    refreshed = await api.client.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert {name: refreshed.headers[name] for name in NO_STORE} == NO_STORE
    replayed = await api.client.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]},
    )
    assert_oauth_error(replayed, 400, "invalid_grant")


async def test_unknown_parameters_are_ignored_as_rfc_6749_says(api) -> None:
    response = await api.client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "audience": "x", "resource": "y"},
        auth=CLIENT,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("form", "basic", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, ("appointments", "wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, ("billing", SECRET), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "appointments"},
            None,
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_secret": SECRET},
            CLIENT,
            400,
            "invalid_request",
        ),
        ({"grant_type": "authorization_code", "code": "x"}, CLIENT, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, CLIENT, 400, "invalid_request"),
        ({}, None, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "admin"}, CLIENT, 400, "invalid_scope"),
        ({"grant_type": "password", "username": "a@example.com"}, None, 400, "invalid_request"),
        (
            {"grant_type": "password", "username": "x", "password": "y"},
            None,
            400,
            "invalid_request",
        ),
        ({"grant_type": "refresh_token"}, None, 400, "invalid_request"),
        (
            {"grant_type": "refresh_token", "refresh_token": "x" * 8193},
            None,
            400,
            "invalid_request",
        ),
        ({"grant_type": "refresh_token", "refresh_token": "unknown"}, None, 400, "invalid_grant"),
    ],
)
async def test_bad_requests_get_rfc_6749_errors_and_change_nothing(
    api, form, basic, status: int, error: str
) -> None:
    response = await api.client.post("/auth/token", data=form, auth=basic)
    assert_oauth_error(response, status, error)
    if error == "invalid_client":
        assert response.headers["www-authenticate"].startswith("Basic")
    assert await api.count("refresh_tokens") == 0


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        ({"Content-Type": "application/json"}, b'{"grant_type": "client_credentials"}'),
        ({}, b""),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"grant_type=client_credentials&grant_type=password",
        ),
        (
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic !!"},
            b"grant_type=client_credentials",
        ),
        (
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic eA=="},
            b"grant_type=client_credentials",
        ),
    ],
    ids=["json", "empty", "repeated parameter", "basic not base64", "basic without a secret"],
)
async def test_malformed_requests_are_refused(api, headers, content: bytes) -> None:
    response = await api.client.post("/auth/token", content=content, headers=headers)
    assert response.status_code in (400, 401)
    expected = "invalid_client" if response.status_code == 401 else "invalid_request"
    assert_oauth_error(response, response.status_code, expected)


async def test_a_throttled_password_grant_says_when_to_retry(api) -> None:
    await api.signup("slow@example.com")
    wrong = {"grant_type": "password", "username": "slow@example.com", "password": "nope-nope"}
    for _ in range(2):
        assert_oauth_error(await api.client.post("/auth/token", data=wrong), 400, "invalid_grant")
    throttled = await api.client.post("/auth/token", data=wrong)
    assert_oauth_error(throttled, 429, "temporarily_unavailable")
    assert int(throttled.headers["retry-after"]) > 0


async def test_the_json_login_and_refresh_are_not_cached_either(api) -> None:
    await api.signup("json@example.com")
    login = await api.client.post(
        "/auth/login", json={"email": "json@example.com", "password": api.password}
    )
    refresh = await api.client.post(
        "/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    for response in (login, refresh):
        assert response.status_code == 200
        assert {name: response.headers[name] for name in NO_STORE} == NO_STORE


async def test_the_token_endpoint_documents_its_form_and_its_error_shape(client) -> None:
    document = (await client.get("/customers/openapi.json")).json()
    references = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document)))
    assert references <= document["components"]["schemas"].keys()  # every $ref resolves
    assert '"$ref": "#/$defs' not in json.dumps(document)
    operation = document["paths"]["/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
    for status in ("400", "401", "429"):
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/OAuthErrorResponse"}
    error = document["components"]["schemas"]["OAuthErrorResponse"]
    assert set(error["required"]) == {"error", "error_description"}
