"""Off-the-shelf clients against customers over real HTTP: authlib's OAuth2 client at the RFC 6749
token endpoint (password, refresh_token, client_credentials) and PyJWT's JWKS client."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI
from passlib.hash import argon2

from customers.config import Settings

SECRET = "s3cr3t-for-appointments-0123456789"
EMAIL = "oauth@example.com"


@pytest.fixture
def settings_overrides(fast_settings: dict[str, Any]) -> dict[str, Any]:
    secret_hash = argon2.using(type="ID", memory_cost=8, rounds=1, parallelism=1).hash(SECRET)
    return {**fast_settings, "service_clients": {"appointments": secret_hash}}


@pytest.fixture
async def base_url(app: FastAPI, serve_over_http) -> AsyncIterator[str]:
    async with serve_over_http(app) as url:
        yield url


def public_client(base_url: str) -> AsyncOAuth2Client:
    """What a single-page app or a CLI is: a client without a secret."""
    return AsyncOAuth2Client(client_id="cli", token_endpoint_auth_method="none", base_url=base_url)


async def test_password_grant_then_refresh_as_rfc_6749_section_6(api, base_url: str) -> None:
    await api.signup(EMAIL)
    token_url = f"{base_url}/auth/token"
    async with public_client(base_url) as client:
        first = await client.fetch_token(token_url, username=EMAIL, password=api.password)
        assert first["token_type"].lower() == "bearer"
        assert (await client.get("/auth/me")).json()["email"] == EMAIL  # the client sends it

        second = await client.refresh_token(token_url)
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        assert (await client.get("/auth/me")).status_code == 200

        with pytest.raises(OAuthError) as spent:
            await client.refresh_token(token_url, refresh_token=first["refresh_token"])
        assert spent.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as revoked:  # a replayed token ends its whole session
            await client.refresh_token(token_url, refresh_token=second["refresh_token"])
        assert revoked.value.error == "invalid_grant"


async def test_a_wrong_password_is_invalid_grant(api, base_url: str) -> None:
    await api.signup(EMAIL)
    async with public_client(base_url) as client:
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(
                f"{base_url}/auth/token", username=EMAIL, password=api.other_password
            )
    assert refused.value.error == "invalid_grant"
    assert await api.count("refresh_tokens") == 0


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_client_credentials_by_basic_and_by_post(
    api, base_url: str, settings: Settings, method: str
) -> None:
    async with AsyncOAuth2Client(
        "appointments", SECRET, token_endpoint_auth_method=method, base_url=base_url
    ) as client:
        token = await client.fetch_token(f"{base_url}/auth/token", grant_type="client_credentials")
    assert "refresh_token" not in token
    claims = jwt.decode(
        token["access_token"],
        options={"verify_signature": False},
    )
    assert (claims["sub"], claims["roles"]) == ("client:appointments", ["service"])


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_a_wrong_client_secret_is_invalid_client(base_url: str, method: str) -> None:
    async with AsyncOAuth2Client(
        "appointments", "not-the-secret", token_endpoint_auth_method=method, base_url=base_url
    ) as client:
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(f"{base_url}/auth/token", grant_type="client_credentials")
    assert refused.value.error == "invalid_client"


async def test_pyjwt_verifies_the_tokens_through_the_published_jwks(
    api, base_url: str, settings: Settings
) -> None:
    await api.signup(EMAIL)
    token_url = f"{base_url}/auth/token"
    async with public_client(base_url) as client:
        customer = await client.fetch_token(token_url, username=EMAIL, password=api.password)
    async with AsyncOAuth2Client("appointments", SECRET, base_url=base_url) as client:
        service = await client.fetch_token(token_url, grant_type="client_credentials")
    discovery = (await api.client.get("/auth/.well-known/openid-configuration")).json()
    jwks_url = discovery["jwks_uri"].replace(settings.auth_issuer.rstrip("/"), f"{base_url}/auth")
    jwks = jwt.PyJWKClient(jwks_url)
    for token in (customer, service):
        key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token["access_token"])
        claims = jwt.decode(
            token["access_token"],
            key.key,
            algorithms=["RS256"],
            audience=settings.auth_audience,
            issuer=settings.auth_issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        assert claims["roles"] in (["customer"], ["service"])
