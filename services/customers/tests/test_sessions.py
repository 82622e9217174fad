"""Signup, login (JSON and OAuth2 form), me, refresh rotation and logout through HTTP."""

import asyncio
from typing import Any

import httpx
import pytest
from jose import jwt

from common.testing import TokenFactory


@pytest.fixture
def settings_overrides(fast_settings: dict[str, Any]) -> dict[str, Any]:
    """Room for the concurrent logins below (throttling has its own tests)."""
    return {
        **fast_settings,
        "login_max_failures_per_email": 50,
        "login_max_failures_per_address": 50,
    }


async def test_signup_login_me_refresh_logout_then_refresh_is_refused(api) -> None:
    created = await api.signup("Ada@Example.com", country="de", language="EN")
    assert created["email"] == "ada@example.com"
    assert (created["country"], created["language"], created["roles"]) == ("DE", "en", ["customer"])
    assert not {"password", "password_hash"} & set(created)

    tokens = await api.login("ADA@example.com")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = await api.client.get("/auth/me", headers=api.bearer(tokens))
    assert me.status_code == 200
    assert me.json()["customer_id"] == created["customer_id"]

    refreshed = await api.client.post(
        "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    new_tokens = refreshed.json()
    assert new_tokens["refresh_token"] != tokens["refresh_token"]
    assert (await api.client.get("/auth/me", headers=api.bearer(new_tokens))).status_code == 200

    logout = await api.client.post(
        "/auth/logout", json={"refresh_token": new_tokens["refresh_token"]}
    )
    assert logout.status_code == 204
    again = await api.client.post(
        "/auth/refresh", json={"refresh_token": new_tokens["refresh_token"]}
    )
    assert again.status_code == 401
    assert again.headers["content-type"] == "application/problem+json"


async def test_passwords_are_stored_only_as_argon2id_hashes(api) -> None:
    await api.signup("hash@example.com")
    rows = await api.execute("SELECT password_hash FROM customers.credentials")
    assert len(rows) == 1
    assert rows[0].password_hash.startswith("$argon2id$")
    assert api.password not in rows[0].password_hash


async def test_the_oauth2_password_form_logs_in_like_swagger_does(api) -> None:
    await api.signup("form@example.com")
    response = await api.client.post(
        "/auth/login",
        data={
            "grant_type": "password",
            "username": "Form@example.com",
            "password": api.password,
            "scope": "",
        },
    )
    assert response.status_code == 200, response.text
    assert (
        await api.client.get("/auth/me", headers=api.bearer(response.json()))
    ).status_code == 200


async def test_openapi_documents_the_json_login_body_and_the_password_flow(api) -> None:
    """The form is accepted too (Swagger's Authorize posts it) but not documented as a second
    body: generated clients of a two-media-type body do not import (openapi-python-client 0.29)."""
    spec = (await api.client.get("/customers/openapi.json")).json()
    content = spec["paths"]["/auth/login"]["post"]["requestBody"]["content"]
    assert content == {
        "application/json": {"schema": {"$ref": "#/components/schemas/LoginRequest"}}
    }
    assert "password" in spec["components"]["schemas"]["LoginRequest"]["properties"]
    assert (
        spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"][
            "tokenUrl"
        ]
        == "/auth/login"
    )


async def test_unknown_email_and_wrong_password_get_the_same_answer(api) -> None:
    await api.signup("known@example.com")
    wrong_password = await api.client.post(
        "/auth/login", json={"email": "known@example.com", "password": "not-the-password"}
    )
    unknown_email = await api.client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "not-the-password"}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    strip = lambda body: {k: v for k, v in body.items() if k != "request_id"}  # noqa: E731
    assert strip(wrong_password.json()) == strip(unknown_email.json())


async def test_access_token_carries_the_blueprint_claims(api, token_factory: TokenFactory) -> None:
    created = await api.signup("claims@example.com")
    tokens = await api.login("claims@example.com")
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] == token_factory.keys.kid
    claims = jwt.decode(
        tokens["access_token"],
        token_factory.keys.public_pem,
        algorithms=["RS256"],
        audience="platform",
        issuer="http://testserver/auth",
    )
    assert claims["sub"] == created["customer_id"]
    assert claims["email"] == "claims@example.com"
    assert claims["roles"] == ["customer"]
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]


async def test_a_reused_refresh_token_revokes_its_whole_family(api) -> None:
    await api.signup("reuse@example.com")
    first = await api.login("reuse@example.com")
    other_session = await api.login("reuse@example.com")
    second = (
        await api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()

    reuse = await api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    descendant = await api.client.post(
        "/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert descendant.status_code == 401
    untouched = await api.client.post(
        "/auth/refresh", json={"refresh_token": other_session["refresh_token"]}
    )
    assert untouched.status_code == 200


async def test_two_concurrent_refreshes_with_one_token_get_one_new_pair(api) -> None:
    await api.signup("race@example.com")
    tokens = await api.login("race@example.com")
    answers = await asyncio.gather(
        *(
            api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
            for _ in range(2)
        )
    )
    assert sorted(answer.status_code for answer in answers) == [200, 401]
    winner = next(answer for answer in answers if answer.status_code == 200).json()
    # The loser presented a spent token: the family, and so the winner's new token, is revoked.
    late = await api.client.post("/auth/refresh", json={"refresh_token": winner["refresh_token"]})
    assert late.status_code == 401


async def test_refresh_tokens_are_stored_hashed(api) -> None:
    await api.signup("stored@example.com")
    tokens = await api.login("stored@example.com")
    assert await api.count("refresh_tokens") == 1
    assert await api.count("refresh_tokens", "token_hash = :raw", raw=tokens["refresh_token"]) == 0


async def test_me_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_many_concurrent_logins_to_one_account_all_succeed(api) -> None:
    await api.signup("popular@example.com")
    body = {"email": "popular@example.com", "password": api.password}
    for _ in range(3):
        answers = await asyncio.gather(
            *(api.client.post("/auth/login", json=body) for _ in range(20))
        )
        assert [answer.status_code for answer in answers] == [200] * 20


async def test_a_login_rehashes_a_password_made_with_older_parameters(
    api, service, settings
) -> None:
    await api.signup("upgrade@example.com")  # hashed at the fast test cost
    stronger = service.create_app(settings.model_copy(update={"argon2_memory_kib": 64}))
    async with stronger.router.lifespan_context(stronger):
        transport = httpx.ASGITransport(app=stronger)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            body = {"email": "upgrade@example.com", "password": api.password}
            assert (await client.post("/auth/login", json=body)).status_code == 200
    [row] = await api.execute("SELECT password_hash FROM customers.credentials")
    assert row.password_hash.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    await api.login("upgrade@example.com")  # the new hash verifies


async def test_an_access_token_given_as_the_refresh_token_is_401_like_any_unusable_one(
    api,
) -> None:
    """It was a 422 (longer than a refresh token), telling it apart from other bad tokens."""
    await api.signup("mixup@example.com")
    tokens = await api.login("mixup@example.com")
    mistaken = await api.client.post(
        "/auth/refresh", json={"refresh_token": tokens["access_token"]}
    )
    unknown = await api.client.post("/auth/refresh", json={"refresh_token": "no-such-token"})
    assert mistaken.status_code == unknown.status_code == 401
    strip = lambda body: {k: v for k, v in body.items() if k != "request_id"}  # noqa: E731
    assert strip(mistaken.json()) == strip(unknown.json())
    grant = await api.client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["access_token"]}
    )
    assert grant.status_code == 400
    assert grant.json()["error"] == "invalid_grant"
    still = await api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert still.status_code == 200
