"""Verified tokens are kept by their exact text: the signature is checked once, the claims on
every use, so a token kept is refused once it expires."""

import time

import pytest
from jose.backends.base import Key

from common.auth import StaticKeys, TokenVerifier, jws
from common.errors import Unauthorized
from common.testing import TEST_AUDIENCE, TEST_ISSUER, KeyPair, TokenFactory


def verifier(tokens: TokenFactory, **options: int) -> TokenVerifier:
    keys = StaticKeys.from_pem(tokens.keys.public_pem)
    return TokenVerifier(
        issuer=TEST_ISSUER, audience=TEST_AUDIENCE, keys=keys, leeway_seconds=0, **options
    )


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token whose signature python-jose checks."""
    checked: list[str] = []
    real = jws.verify

    def counting(token: str, *args: object, **kwargs: object) -> bytes:
        checked.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jws, "verify", counting)
    return checked


async def test_a_token_is_checked_once_then_served_by_its_exact_text(
    token_factory: TokenFactory, signature_checks: list[str]
) -> None:
    check = verifier(token_factory)
    token = token_factory.token("dana", ["staff"])
    first, second = await check.verify(token), await check.verify(token)
    assert first == second
    assert (second.subject, second.roles) == ("dana", frozenset({"staff"}))
    assert signature_checks == [token]
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"  # other bytes: checked, and refused
    with pytest.raises(Unauthorized):
        await check.verify(forged)
    assert signature_checks == [token, forged]


async def test_a_kept_token_is_refused_once_it_expires(
    token_factory: TokenFactory, signature_checks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    check = verifier(token_factory)
    token = token_factory.token("erin", ttl=60)
    await check.verify(token)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthorized) as refused:
        await check.verify(token)
    assert refused.value.detail == "The token has expired"
    assert signature_checks == [token]  # refused by its claims, from the cache
    with pytest.raises(Unauthorized):
        await check.verify(token)  # and no longer kept: checked again, refused again
    assert signature_checks == [token, token]


async def test_the_cache_keeps_the_most_recently_used_tokens(
    token_factory: TokenFactory, signature_checks: list[str]
) -> None:
    check = verifier(token_factory, cache_size=2)
    one, two, three = (token_factory.token(f"user-{n}") for n in range(3))
    for token in (one, two, one, three, one, two):
        await check.verify(token)
    # three pushed out two (one was used more recently); two came back and pushed out three
    assert signature_checks == [one, two, three, two]


class Keys:
    """A key source whose keys the test replaces, as a JWKS refresh would."""

    def __init__(self, *pems: str) -> None:
        self.replace(*pems)

    def replace(self, *pems: str) -> None:
        self.by_kid = StaticKeys.from_pem(*pems)._by_kid

    async def key_for(self, kid: str) -> Key | None:
        return self.by_kid.get(kid)


async def test_a_kept_token_is_checked_again_once_its_key_is_dropped_or_replaced(
    token_factory: TokenFactory, signature_checks: list[str]
) -> None:
    keys = Keys(token_factory.keys.public_pem)
    check = TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, keys=keys)
    token = token_factory.token("fay")
    await check.verify(token)
    keys.replace(token_factory.keys.public_pem)  # the same key, fetched again: a new object
    await check.verify(token)
    assert signature_checks == [token, token]
    keys.replace(KeyPair.generate().public_pem)  # the issuer no longer trusts the key
    with pytest.raises(Unauthorized) as refused:
        await check.verify(token)
    assert refused.value.detail == "The token was not signed by a trusted key"
