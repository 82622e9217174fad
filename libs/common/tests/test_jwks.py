"""The JWKS cache: keys by kid over real HTTP, bounded refetches, rotation and removal."""

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.auth import RemoteJWKS, TokenVerifier, public_jwk
from common.errors import ServiceUnavailable, Unauthorized
from common.testing import TEST_AUDIENCE, TEST_ISSUER, KeyPair, TokenFactory

JWKS_URL = "http://idp.test/auth/jwks.json"


class IdentityProvider:
    """A JWKS endpoint whose key set the test changes, counting how often it is fetched."""

    def __init__(self, *keys: KeyPair) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.available = True
        self.app = Starlette(routes=[Route("/auth/jwks.json", self.jwks)])

    async def jwks(self, request: Request) -> Response:
        self.fetches += 1
        if not self.available:
            return Response(status_code=503)
        return JSONResponse({"keys": [public_jwk(key.public_pem) for key in self.keys]})

    def verifier(self, *, cache_seconds: float, min_refetch_seconds: float) -> TokenVerifier:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app))
        keys = RemoteJWKS(
            JWKS_URL, client, cache_seconds=cache_seconds, min_refetch_seconds=min_refetch_seconds
        )
        return TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, keys=keys)


async def test_keys_are_fetched_once_and_cached() -> None:
    factory = TokenFactory()
    idp = IdentityProvider(factory.keys)
    verifier = idp.verifier(cache_seconds=300, min_refetch_seconds=30)
    for _ in range(5):
        assert (await verifier.verify(factory.token("dave"))).subject == "dave"
    assert idp.fetches == 1


async def test_unknown_kids_refetch_at_most_once_per_interval() -> None:
    trusted, stranger = TokenFactory(), TokenFactory()
    idp = IdentityProvider(trusted.keys)
    verifier = idp.verifier(cache_seconds=300, min_refetch_seconds=60)
    await verifier.verify(trusted.token())
    for _ in range(10):
        with pytest.raises(Unauthorized):
            await verifier.verify(stranger.token())
    assert idp.fetches == 1


async def test_a_new_signing_key_is_picked_up_by_its_kid() -> None:
    old, new = TokenFactory(), TokenFactory()
    idp = IdentityProvider(old.keys)
    verifier = idp.verifier(cache_seconds=300, min_refetch_seconds=0)
    await verifier.verify(old.token())
    idp.keys.append(new.keys)
    assert (await verifier.verify(new.token("erin"))).subject == "erin"
    assert (await verifier.verify(old.token())).subject == "user-1"
    assert idp.fetches == 2


async def test_a_key_removed_from_the_set_stops_verifying_once_the_cache_expires() -> None:
    factory = TokenFactory()
    idp = IdentityProvider(factory.keys)
    verifier = idp.verifier(cache_seconds=0, min_refetch_seconds=0)
    await verifier.verify(factory.token())
    idp.keys.clear()
    with pytest.raises(Unauthorized):
        await verifier.verify(factory.token())


async def test_an_unreachable_provider_with_no_cached_keys_is_a_503() -> None:
    idp = IdentityProvider(TokenFactory().keys)
    idp.available = False
    verifier = idp.verifier(cache_seconds=300, min_refetch_seconds=0)
    with pytest.raises(ServiceUnavailable):
        await verifier.verify(TokenFactory().token())


async def test_cached_keys_survive_a_provider_outage() -> None:
    factory = TokenFactory()
    idp = IdentityProvider(factory.keys)
    verifier = idp.verifier(cache_seconds=0, min_refetch_seconds=0)
    await verifier.verify(factory.token())
    idp.available = False
    assert (await verifier.verify(factory.token("frank"))).subject == "frank"
