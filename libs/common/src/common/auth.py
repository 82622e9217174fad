"""Verification of the RS256 access tokens that customers issues, and the FastAPI dependencies.

Only customers holds a private key; every service (customers included) verifies with public keys
picked by ``kid``, from a cached JWKS document or from a PEM in configuration.
"""

import asyncio
import base64
import hashlib
import json
import logging
import math
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import httpx
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.base import SecurityBase
from jose import jwk, jws, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError

from common.context import current_request
from common.errors import Forbidden, ServiceUnavailable, Unauthorized

ALGORITHM = "RS256"
# A token is a few hundred bytes; anything far larger is refused before it is parsed.
MAX_TOKEN_CHARS = 8192
# Verified tokens kept for their next use: a few hundred bytes each.
VERIFIED_TOKENS_KEPT = 4096
# Header parameters by which a token would bring its own key: never trusted, always refused.
SELF_DESCRIBED_KEY_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c"})
logger = logging.getLogger(__name__)


def public_jwk(public_key_pem: str) -> dict[str, str]:
    """The JWK of an RSA public key, with ``kid`` set to its RFC 7638 thumbprint."""
    fields = jwk.construct(public_key_pem, ALGORITHM).to_dict()
    canonical = json.dumps(
        {name: fields[name] for name in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": ALGORITHM,
        "kid": kid,
        "n": fields["n"],
        "e": fields["e"],
    }


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the token says."""

    subject: str
    roles: frozenset[str]
    email: str | None = None
    token_id: str | None = None

    def has_any_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


class KeySource(Protocol):
    async def key_for(self, kid: str) -> Key | None:
        """The parsed public key with this kid, or None when no such key is trusted."""
        ...


def parsed_keys(jwks: Iterable[Mapping[str, Any]]) -> dict[str, Key]:
    """RS256 signing keys by kid, each parsed once (a parse costs more than a verification).

    Keys of another type, algorithm or use, and keys that do not parse, are left out.
    """
    keys: dict[str, Key] = {}
    for key in jwks:
        kid = key.get("kid")
        if (
            not isinstance(kid, str)
            or key.get("kty") != "RSA"
            or key.get("alg", ALGORITHM) != ALGORITHM
            or key.get("use", "sig") != "sig"
        ):
            continue
        try:
            keys[kid] = jwk.construct(dict(key), ALGORITHM)
        except (JOSEError, TypeError, ValueError):
            logger.warning("jwks key ignored: it does not parse", extra={"kid": kid})
    return keys


class StaticKeys:
    """Keys given in configuration (PEM) or by the issuer itself."""

    def __init__(self, keys: Iterable[Mapping[str, str]]) -> None:
        self._by_kid = parsed_keys(keys)

    @classmethod
    def from_pem(cls, *public_key_pems: str) -> "StaticKeys":
        return cls(public_jwk(pem) for pem in public_key_pems)

    async def key_for(self, kid: str) -> Key | None:
        return self._by_kid.get(kid)


class RemoteJWKS:
    """The identity provider's JWKS document, fetched over HTTP and cached as parsed keys.

    A token signed by a key already held never waits on the identity provider:

    - keys older than ``cache_seconds`` are still served while one background fetch refreshes
      them (stale-while-revalidate), so an outage of the provider does not stop verification;
    - an unknown kid (a key rotation, or a forgery) waits for a fetch, at most one every
      ``min_refetch_seconds``; concurrent callers share the fetch in flight;
    - after a failed fetch no other starts before a backoff (doubling from ``backoff_seconds``
      up to ``max_backoff_seconds``, with jitter) has passed; an unknown kid is refused at once
      (a document that is not a key set, or holds no usable RS256 key, is a failed fetch);
    - only while no key is held at all does every caller wait (for the same fetch), and a
      failed fetch is a 503.
    """

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        cache_seconds: float = 300,
        min_refetch_seconds: float = 30,
        timeout_seconds: float = 5,
        backoff_seconds: float = 1,
        max_backoff_seconds: float = 60,
    ) -> None:
        self.url = url
        self.client = client
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.timeout_seconds = timeout_seconds
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._by_kid: dict[str, Key] = {}
        self._fetched_at = float("-inf")  # the last successful fetch
        self._attempted_at = float("-inf")  # the last fetch started
        self._no_fetch_before = float("-inf")  # the backoff after failures
        self._failures = 0
        self._fetch: asyncio.Task[None] | None = None

    async def key_for(self, kid: str) -> Key | None:
        if not self._by_kid:
            await self._wait_for_fetch(min_interval=0)
            if not self._by_kid:
                raise ServiceUnavailable("The identity provider's keys are unavailable")
        elif kid not in self._by_kid:
            await self._wait_for_fetch(min_interval=self.min_refetch_seconds)
        elif _since(self._fetched_at) >= self.cache_seconds:
            self._start_fetch(min_interval=0)
        return self._by_kid.get(kid)

    async def _wait_for_fetch(self, *, min_interval: float) -> None:
        fetch = self._start_fetch(min_interval=min_interval)
        if fetch is not None:
            # shielded: a caller that gives up does not cancel the fetch the others wait for
            await asyncio.shield(fetch)

    def _start_fetch(self, *, min_interval: float) -> "asyncio.Task[None] | None":
        """The fetch in flight, or a new one when the backoff and ``min_interval`` allow it."""
        if self._fetch is not None and not self._fetch.done():
            return self._fetch
        now = time.monotonic()
        if now < self._no_fetch_before or now - self._attempted_at < min_interval:
            return None
        self._attempted_at = now
        self._fetch = asyncio.create_task(self._refresh())
        return self._fetch

    async def _refresh(self) -> None:
        try:
            response = await self.client.get(self.url, timeout=self.timeout_seconds)
            response.raise_for_status()
            keys = response.json()["keys"]
            if not isinstance(keys, list):
                raise TypeError("keys is not a list")
            usable = parsed_keys(key for key in keys if isinstance(key, dict))
            if not usable:
                raise ValueError("no usable RS256 key in the set")  # keep what is held
            self._by_kid = usable
        except Exception as exc:  # a background task: any failure means "keep the keys held"
            self._back_off()
            logger.warning(
                "jwks fetch failed; serving the keys held",
                extra={"url": self.url, "error": repr(exc), "failures": self._failures},
            )
            return
        self._fetched_at = time.monotonic()
        self._failures = 0
        self._no_fetch_before = float("-inf")

    def _back_off(self) -> None:
        self._failures += 1
        delay = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (self._failures - 1))
        jitter = random.uniform(0.5, 1)  # noqa: S311 (spreads retries; not a secret)
        self._no_fetch_before = time.monotonic() + delay * jitter


def _since(moment: float) -> float:
    return time.monotonic() - moment


def invalid_token(detail: str) -> Unauthorized:
    """A 401 for a token that was sent but cannot be trusted (RFC 6750 section 3.1)."""
    return Unauthorized(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


@dataclass(frozen=True)
class _Verified:
    """A token whose signature was checked: by which key, and what it says."""

    kid: str
    key: Key
    claims: Mapping[str, Any]
    principal: Principal


def _signed_claims(token: str, key: Key) -> Mapping[str, Any]:
    """The payload of a token signed with ``key``, as a JSON object."""
    try:
        claims = json.loads(jws.verify(token, key, algorithms=[ALGORITHM]))
    except (JOSEError, ValueError) as exc:
        raise invalid_token("The token's signature or payload is not valid") from exc
    if not isinstance(claims, dict):
        raise invalid_token("The token's payload is not a JSON object")
    return claims


class TokenVerifier:
    """Checks RS256 access tokens: signature by a trusted kid, then every claim's type and value.

    The claims are checked here rather than by python-jose, which lets through a missing
    ``aud``, a numeric string as ``exp`` and an ``iat`` in the future.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: KeySource,
        leeway_seconds: float = 30,
        cache_size: int = VERIFIED_TOKENS_KEPT,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.leeway_seconds = leeway_seconds
        self.cache_size = cache_size
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthorized for anything else.

        A token whose signature was verified is kept by its exact text (the last
        ``cache_size``), so its next use skips the RSA check, which gives the same answer for
        the same bytes and key: it is served while its kid still names that key (a key dropped
        or replaced by the key source sends it through the whole check again), and its claims,
        ``exp`` first, are checked again on every use.
        """
        if len(token) > MAX_TOKEN_CHARS:
            raise invalid_token("The token is too large")
        kept = self._verified.pop(token, None)
        if kept is not None and await self.keys.key_for(kept.kid) is kept.key:
            self._check_claims(kept.claims)  # a token refused now is not kept
            self._verified[token] = kept  # the most recently used, last
            return kept.principal
        kid, key = await self._signing_key(token)
        claims = _signed_claims(token, key)
        self._check_claims(claims)
        principal = _principal(claims)
        self._verified[token] = _Verified(kid, key, claims, principal)
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return principal

    async def _signing_key(self, token: str) -> tuple[str, Key]:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise invalid_token("The token is malformed") from exc
        if header.get("alg") != ALGORITHM:
            raise invalid_token("The token's algorithm is not accepted")
        if SELF_DESCRIBED_KEY_HEADERS & header.keys():
            raise invalid_token("The token names its own key; only the issuer's keys are trusted")
        if "crit" in header:
            raise invalid_token("The token needs extensions this verifier does not support")
        kid = header.get("kid")
        key = await self.keys.key_for(kid) if isinstance(kid, str) else None
        if key is None:
            raise invalid_token("The token was not signed by a trusted key")
        return kid, key

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.issuer:
            raise invalid_token("The token's issuer is not trusted")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or self.audience not in audiences:
            raise invalid_token("The token is not meant for this audience")
        now, leeway = time.time(), self.leeway_seconds
        if _numeric_date(claims, "exp") <= now - leeway:
            raise invalid_token("The token has expired")
        if _numeric_date(claims, "iat") > now + leeway:
            raise invalid_token("The token is issued in the future")
        if "nbf" in claims and _numeric_date(claims, "nbf") > now + leeway:
            raise invalid_token("The token is not valid yet")


def _numeric_date(claims: Mapping[str, Any], name: str) -> float:
    """The claim as seconds since the epoch; a 401 when it is missing or not a number."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid_token(f"The token's {name} is missing or not a number")
    return float(value)


def _principal(claims: Mapping[str, Any]) -> Principal:
    subject, roles = claims.get("sub"), claims.get("roles", [])
    if not isinstance(subject, str) or not subject:
        raise invalid_token("The token has no subject")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise invalid_token("The token's roles are malformed")
    email = claims.get("email")
    jti = claims.get("jti")
    return Principal(
        subject=subject,
        roles=frozenset(roles),
        email=email if isinstance(email, str) else None,
        token_id=jti if isinstance(jti, str) else None,
    )


# The app factory writes the configured login URL (AUTH_LOGIN_URL) into each OpenAPI document,
# where Swagger's Authorize button reads it; this tokenUrl is only a placeholder.
_PASSWORD_FLOW = OAuth2PasswordBearer(tokenUrl="login", auto_error=False)


class _BearerCaller(SecurityBase):
    """The caller named by the request's bearer token, in one dependency that reads the header
    and verifies it (the OAuth2 password flow in OpenAPI, under the scheme name it always had)."""

    def __init__(self) -> None:
        self.model = _PASSWORD_FLOW.model
        self.scheme_name = "OAuth2PasswordBearer"

    async def _verified(self, request: Request) -> Principal | None:
        """The token's principal; None when no bearer token was sent."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        verifier: TokenVerifier = request.app.state.verifier
        principal = await verifier.verify(token)
        context = current_request()
        if context:
            context.subject = principal.subject
        return principal


class _RequiredCaller(_BearerCaller):
    async def __call__(self, request: Request) -> Principal:
        principal = await self._verified(request)
        if principal is None:
            # no error attribute: the client did not try to authenticate (RFC 6750 section 3.1)
            raise Unauthorized("A bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        return principal


class _OptionalCaller(_BearerCaller):
    async def __call__(self, request: Request) -> Principal | None:
        return await self._verified(request)


current_user = _RequiredCaller()
"""The caller (a 401 without a valid bearer token)."""
optional_user = _OptionalCaller()
"""The caller when a token is given (it must be valid); None for anonymous callers."""
CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]


PrincipalDependency = Callable[..., Awaitable[Principal]]


def require_roles(
    *roles: str, caller: PrincipalDependency = current_user
) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits callers holding any of ``roles`` (403 otherwise).

    The roles are the calling service's own names (customers grants them); ``caller`` is the
    dependency that says who calls: the token's principal by default; the identity provider
    passes one that reads the account's current roles instead.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")

    async def dependency(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if not principal.has_any_role(*roles):
            raise Forbidden(
                f"This needs one of the roles: {', '.join(sorted(roles))}",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        return principal

    return dependency
