"""Access tokens: forgeries refused, JWKS and discovery published, and common's verifier trusting
this service's keys over real HTTP, through a key rotation."""

from contextlib import AsyncExitStack

import httpx
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from common.auth import RemoteJWKS, TokenVerifier
from common.testing import KeyPair, TokenFactory, refused
from common.testing.forgeries import forged_tokens
from common.testing.plugin import ServiceUnderTest
from customers.config import Settings
from customers.records.models import ROLES


async def test_every_forgery_is_refused(api, token_factory: TokenFactory) -> None:
    created = await api.signup("target@example.com")
    subject = created["customer_id"]
    genuine = await api.client.get("/auth/me", headers=token_factory.auth(subject))
    assert genuine.status_code == 200
    for name, token in forged_tokens(token_factory, subject, roles=sorted(ROLES)).items():
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        response = await api.client.get("/auth/me", headers=headers)
        assert response.status_code == 401, name
        assert response.headers["content-type"] == "application/problem+json", name


async def test_jwks_publishes_the_public_key_only(client: httpx.AsyncClient, token_factory) -> None:
    response = await client.get("/auth/jwks.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    [key] = response.json()["keys"]
    assert key["kid"] == token_factory.keys.kid
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


async def test_discovery_names_issuer_jwks_and_token_endpoint(client: httpx.AsyncClient) -> None:
    document = (await client.get("/auth/.well-known/openid-configuration")).json()
    assert document["issuer"] == "http://testserver/auth"
    assert document["jwks_uri"] == "http://testserver/auth/jwks.json"
    assert document["token_endpoint"] == "http://testserver/auth/token"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["grant_types_supported"] == ["password", "refresh_token", "client_credentials"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "none",
        "client_secret_basic",
        "client_secret_post",
    ]


class SwappableApp:
    """The app behind one URL, replaced to redeploy with another key configuration."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


async def test_common_verifier_follows_a_key_rotation_through_the_jwks_endpoint(
    api, service: ServiceUnderTest, settings: Settings, serve_over_http, eventually
) -> None:
    old, new = KeyPair.generate(), KeyPair.generate()
    deployments = {
        "old key": [old.private_pem],
        "rotating": [old.private_pem, new.private_pem],
        "new key": [new.private_pem],
    }
    front = SwappableApp()
    async with AsyncExitStack() as stack:
        apps = {}
        for name, pems in deployments.items():
            app = service.create_app(settings.model_copy(update={"signing_keys": pems}))
            await stack.enter_async_context(app.router.lifespan_context(app))
            apps[name] = app
        base_url = await stack.enter_async_context(serve_over_http(front))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=base_url))
        jwks = RemoteJWKS(
            f"{base_url}/auth/jwks.json", http, cache_seconds=0, min_refetch_seconds=0
        )
        verifier = TokenVerifier(
            issuer=settings.auth_issuer, audience=settings.auth_audience, keys=jwks
        )

        async def login() -> str:
            response = await http.post(
                "/auth/login", json={"email": "rotate@example.com", "password": api.password}
            )
            assert response.status_code == 200, response.text
            return str(response.json()["access_token"])

        front.app = apps["old key"]
        created = (
            await http.post(
                "/auth/signup", json={"email": "rotate@example.com", "password": api.password}
            )
        ).json()
        old_token = await login()
        principal = await verifier.verify(old_token)
        assert (principal.subject, principal.roles) == (
            created["customer_id"],
            frozenset({"customer"}),
        )

        front.app = apps["rotating"]
        new_token = await login()
        assert (await http.get("/auth/jwks.json")).json()["keys"][0][
            "kid"
        ] == new.kid  # newest signs
        for token in (old_token, new_token):
            assert (await verifier.verify(token)).subject == created["customer_id"]
            assert (
                await http.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
            ).status_code == 200

        front.app = apps["new key"]
        assert (await verifier.verify(new_token)).subject == created["customer_id"]
        await eventually(lambda: refused(verifier, old_token))  # once the refresh has run
        assert (
            await http.get("/auth/me", headers={"Authorization": f"Bearer {old_token}"})
        ).status_code == 401
