"""The JWKS cache: keys by kid over HTTP, stale-while-revalidate, shared fetches and backoff."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.auth import RemoteJWKS, TokenVerifier, public_jwk
from common.errors import ServiceUnavailable, Unauthorized
from common.testing import TEST_AUDIENCE, TEST_ISSUER, KeyPair, TokenFactory, refused

JWKS_URL = "http://idp.test/auth/jwks.json"
DEADLINE_SECONDS = 10


class IdentityProvider:
    """A JWKS endpoint whose key set the test changes, counting how often it is fetched.

    ``hold`` makes every answer wait until the test sets it, as a provider that hangs.
    """

    def __init__(self, *keys: KeyPair) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.available = True
        self.hold: asyncio.Event | None = None
        self.document: object | None = None  # served instead of the key set when set
        self.app = Starlette(routes=[Route("/auth/jwks.json", self.jwks)])

    async def jwks(self, request: Request) -> Response:
        self.fetches += 1
        if self.hold is not None:
            await self.hold.wait()
        if not self.available:
            return Response(status_code=503)
        if self.document is not None:
            return JSONResponse(self.document)
        return JSONResponse({"keys": [public_jwk(key.public_pem) for key in self.keys]})

    def jwks_client(self, **options: float) -> RemoteJWKS:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app))
        return RemoteJWKS(JWKS_URL, client, **options)

    def verifier(self, **options: float) -> TokenVerifier:
        keys = self.jwks_client(**options)
        return TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, keys=keys)


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``condition`` until it holds; fail after the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while not await condition():
        assert loop.time() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.01)


async def test_keys_are_fetched_once_and_cached() -> None:
    factory = TokenFactory()
    idp = IdentityProvider(factory.keys)
    verifier = idp.verifier(cache_seconds=300, min_refetch_seconds=30)
    for _ in range(5):
        assert (await verifier.verify(factory.token("dave"))).subject == "dave"
    assert idp.fetches == 1


async def test_a_key_is_parsed_once_not_at_every_verification() -> None:
    factory = TokenFactory()
    jwks = IdentityProvider(factory.keys).jwks_client()
    first = await jwks.key_for(factory.keys.kid)
    assert first is not None
    assert await jwks.key_for(factory.keys.kid) is first


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


async def test_a_key_removed_from_the_set_stops_verifying_after_the_refresh() -> None:
    factory = TokenFactory()
    idp = IdentityProvider(factory.keys)
    verifier = idp.verifier(cache_seconds=0, min_refetch_seconds=0)
    await verifier.verify(factory.token())
    idp.keys = [KeyPair.generate()]
    await eventually(lambda: refused(verifier, factory.token()))


async def test_stale_keys_are_served_while_one_refresh_runs_in_the_background() -> None:
    """The provider hangs: every verification still succeeds at once, and only one fetch waits."""
    factory = TokenFactory()
    idp = IdentityProvider(factory.keys)
    verifier = idp.verifier(cache_seconds=0, min_refetch_seconds=0)
    await verifier.verify(factory.token())
    idp.hold = asyncio.Event()

    principals = await asyncio.gather(*(verifier.verify(factory.token(f"u{n}")) for n in range(20)))

    assert [principal.subject for principal in principals] == [f"u{n}" for n in range(20)]
    assert idp.fetches == 2  # the first, and the one refresh still hanging
    idp.hold.set()


async def test_callers_without_any_key_share_one_fetch() -> None:
    factory = TokenFactory()
    idp = IdentityProvider(factory.keys)
    verifier = idp.verifier(cache_seconds=300, min_refetch_seconds=0)
    principals = await asyncio.gather(*(verifier.verify(factory.token(f"u{n}")) for n in range(10)))
    assert len(principals) == 10
    assert idp.fetches == 1


async def test_an_unreachable_provider_with_no_cached_keys_is_a_503_then_backs_off() -> None:
    idp = IdentityProvider(TokenFactory().keys)
    idp.available = False
    verifier = idp.verifier(cache_seconds=300, min_refetch_seconds=0, backoff_seconds=60)
    for _ in range(5):
        with pytest.raises(ServiceUnavailable):
            await verifier.verify(TokenFactory().token())
    assert idp.fetches == 1  # the others came within the backoff: refused without a fetch


async def test_after_the_backoff_a_recovered_provider_is_fetched_again() -> None:
    factory = TokenFactory()
    idp = IdentityProvider(factory.keys)
    idp.available = False
    verifier = idp.verifier(cache_seconds=300, min_refetch_seconds=0, backoff_seconds=0.05)
    with pytest.raises(ServiceUnavailable):
        await verifier.verify(factory.token())
    idp.available = True

    async def verified() -> bool:
        try:
            return (await verifier.verify(factory.token("gina"))).subject == "gina"
        except ServiceUnavailable:
            return False

    await eventually(verified)


async def test_cached_keys_survive_a_provider_outage_and_unknown_kids_are_refused() -> None:
    factory, stranger = TokenFactory(), TokenFactory()
    idp = IdentityProvider(factory.keys)
    verifier = idp.verifier(cache_seconds=0, min_refetch_seconds=0, backoff_seconds=60)
    await verifier.verify(factory.token())
    idp.available = False
    for _ in range(10):
        assert (await verifier.verify(factory.token("frank"))).subject == "frank"
        with pytest.raises(Unauthorized):
            await verifier.verify(stranger.token())
    assert idp.fetches == 2  # one failed refresh, then the backoff holds every other fetch


@pytest.mark.parametrize(
    "document",
    [{"keys": "nope"}, [1, 2], {"no keys": []}, {"keys": [{"kty": "RSA", "kid": "x", "n": 5}]}],
    ids=["keys not a list", "not an object", "no keys", "a key that does not parse"],
)
async def test_a_malformed_key_set_changes_nothing_held(document: object) -> None:
    factory = TokenFactory()
    idp = IdentityProvider(factory.keys)
    verifier = idp.verifier(cache_seconds=0, min_refetch_seconds=0, backoff_seconds=60)
    await verifier.verify(factory.token())
    idp.document = document
    assert (await verifier.verify(factory.token("gus"))).subject == "gus"  # starts a refresh
    await eventually(lambda: _fetched(idp, 2))
    assert (await verifier.verify(factory.token("hana"))).subject == "hana"


async def test_a_malformed_key_set_and_no_key_held_is_a_503() -> None:
    idp = IdentityProvider(TokenFactory().keys)
    idp.document = {"keys": "nope"}
    verifier = idp.verifier()
    with pytest.raises(ServiceUnavailable):
        await verifier.verify(TokenFactory().token())


async def _fetched(idp: IdentityProvider, times: int) -> bool:
    return idp.fetches >= times
