"""Verification of the RS256 access tokens that customers issues, and the FastAPI dependencies.

Only customers holds a private key; every service (customers included) verifies with public keys
picked by ``kid``, from a cached JWKS document or from a PEM in configuration.
"""

import asyncio
import base64
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import httpx
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from jose import jwk, jwt
from jose.exceptions import JOSEError

from common.context import current_request
from common.errors import Forbidden, ServiceUnavailable, Unauthorized

ALGORITHM = "RS256"
ROLES = frozenset(
    {
        "customer",
        "patient",
        "doctor",
        "receptionist",
        "provider",
        "utility",
        "staff",
        "admin",
        "service",
    }
)
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
    async def key_for(self, kid: str) -> Mapping[str, str] | None:
        """The public JWK with this kid, or None when no such key is trusted."""
        ...


class StaticKeys:
    """Keys given in configuration (PEM) or by the issuer itself."""

    def __init__(self, keys: Iterable[Mapping[str, str]]) -> None:
        self._by_kid = {key["kid"]: key for key in keys}

    @classmethod
    def from_pem(cls, *public_key_pems: str) -> "StaticKeys":
        return cls(public_jwk(pem) for pem in public_key_pems)

    async def key_for(self, kid: str) -> Mapping[str, str] | None:
        return self._by_kid.get(kid)


class RemoteJWKS:
    """A JWKS document fetched over HTTP and cached.

    Keys are kept for ``cache_seconds``; an unknown kid triggers a refetch at most once every
    ``min_refetch_seconds``, so a flood of forged kids cannot hammer the identity provider.
    """

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        cache_seconds: float = 300,
        min_refetch_seconds: float = 30,
    ) -> None:
        self.url = url
        self.client = client
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self._by_kid: dict[str, Mapping[str, str]] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str) -> Mapping[str, str] | None:
        if self._age() >= self.cache_seconds or (
            kid not in self._by_kid and self._age() >= self.min_refetch_seconds
        ):
            await self._refresh()
        return self._by_kid.get(kid)

    def _age(self) -> float:
        return time.monotonic() - self._fetched_at

    async def _refresh(self) -> None:
        async with self._lock:
            if self._age() < min(self.min_refetch_seconds, self.cache_seconds):
                return  # another request refreshed while this one waited
            try:
                response = await self.client.get(self.url, timeout=5)
                response.raise_for_status()
                keys = response.json()["keys"]
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                logger.warning("jwks fetch failed", extra={"url": self.url, "error": str(exc)})
                if not self._by_kid:
                    raise ServiceUnavailable(
                        "The identity provider's keys are unavailable"
                    ) from exc
                return
            self._by_kid = {
                key["kid"]: key for key in keys if key.get("kty") == "RSA" and "kid" in key
            }
            self._fetched_at = time.monotonic()


class TokenVerifier:
    def __init__(self, *, issuer: str, audience: str, keys: KeySource) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys = keys

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthorized for anything else."""
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise Unauthorized("The token is malformed") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("The token's algorithm is not accepted")
        kid = header.get("kid")
        key = await self.keys.key_for(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized("The token was not signed by a trusted key")
        try:
            claims = jwt.decode(
                token,
                dict(key),
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require_exp": True, "require_iat": True, "require_sub": True},
            )
        except JOSEError as exc:
            raise Unauthorized(f"The token is not valid: {exc}") from exc
        return _principal(claims)


def _principal(claims: Mapping[str, Any]) -> Principal:
    subject, roles = claims.get("sub"), claims.get("roles", [])
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("The token has no subject")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthorized("The token's roles are malformed")
    email = claims.get("email")
    jti = claims.get("jti")
    return Principal(
        subject=subject,
        roles=frozenset(roles),
        email=email if isinstance(email, str) else None,
        token_id=jti if isinstance(jti, str) else None,
    )


# tokenUrl is absolute so Swagger's Authorize button works from every service's /docs.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


async def current_user(
    request: Request, token: Annotated[str | None, Depends(bearer_scheme)]
) -> Principal:
    if not token:
        raise Unauthorized("A bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(token)
    context = current_request()
    if context:
        context.subject = principal.subject
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits callers holding any of ``roles`` (403 otherwise)."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    async def dependency(principal: CurrentUser) -> Principal:
        if not principal.has_any_role(*roles):
            raise Forbidden(f"This needs one of the roles: {', '.join(sorted(roles))}")
        return principal

    return dependency
