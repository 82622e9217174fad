"""Client credentials: configured services get a token with role ``service``."""

from typing import Any

import pytest
from jose import jwt
from passlib.hash import argon2

SECRET = "s3cr3t-for-appointments-0123456789"


@pytest.fixture
def settings_overrides(fast_settings: dict[str, Any]) -> dict[str, Any]:
    secret_hash = argon2.using(type="ID", memory_cost=8, rounds=1, parallelism=1).hash(SECRET)
    return {**fast_settings, "service_clients": {"appointments": secret_hash}}


async def test_http_basic_gives_a_service_token_that_reads_customers(api) -> None:
    await api.signup("patient@example.com")
    response = await api.client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=("appointments", SECRET)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    claims = jwt.get_unverified_claims(body["access_token"])
    assert (claims["sub"], claims["roles"]) == ("client:appointments", ["service"])
    assert "email" not in claims
    read = await api.client.get("/customers/patient@example.com", headers=api.bearer(body))
    assert read.status_code == 200


async def test_the_secret_may_come_in_the_form(api) -> None:
    response = await api.client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "appointments",
            "client_secret": SECRET,
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("form", "basic", "status"),
    [
        ({"grant_type": "client_credentials"}, ("appointments", "wrong"), 401),
        ({"grant_type": "client_credentials"}, ("billing", SECRET), 401),
        ({"grant_type": "client_credentials"}, None, 401),
        ({"grant_type": "password"}, ("appointments", SECRET), 422),
        ({"grant_type": "client_credentials", "audience": "x"}, ("appointments", SECRET), 422),
    ],
)
async def test_bad_client_credentials_are_refused(api, form, basic, status) -> None:
    response = await api.client.post("/auth/token", data=form, auth=basic)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_service_token_has_no_customer_record(api) -> None:
    token = (
        await api.client.post(
            "/auth/token", data={"grant_type": "client_credentials"}, auth=("appointments", SECRET)
        )
    ).json()
    assert (await api.client.get("/auth/me", headers=api.bearer(token))).status_code == 404
