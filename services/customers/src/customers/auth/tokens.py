"""Access tokens (RS256 JWTs per the blueprint) and the opaque tokens kept only as digests."""

import hashlib
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from jose import jwt

from common.auth import ALGORITHM
from customers.keys import Keyring


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


class TokenIssuer:
    def __init__(self, keyring: Keyring, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def access_token(
        self, subject: str, roles: Iterable[str], email: str | None = None
    ) -> AccessToken:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "roles": sorted(roles),
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        if email is not None:
            claims["email"] = email
        key = self.keyring.signing_key
        token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
        return AccessToken(str(token), self.ttl_seconds)


def new_opaque_token() -> str:
    """256 random bits, URL-safe: a refresh or password-reset token."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored instead of an opaque token (its entropy makes a slow hash unnecessary)."""
    return hashlib.sha256(token.encode()).hexdigest()
