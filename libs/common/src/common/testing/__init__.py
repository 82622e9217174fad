"""Test helpers: a test RSA key pair and token factory; the pytest fixtures live in ``plugin``."""

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt
from jose.backends.base import Key

from common.auth import ALGORITHM, TokenVerifier, public_jwk
from common.errors import Unauthorized

TEST_ISSUER = "http://testserver/auth"
TEST_AUDIENCE = "platform"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str

    @classmethod
    def generate(cls) -> "KeyPair":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        return cls(private_pem, public_pem)

    @cached_property
    def kid(self) -> str:
        return public_jwk(self.public_pem)["kid"]

    @cached_property
    def signing_key(self) -> Key:
        """The private key parsed once (parsing a PEM costs ~30 ms)."""
        return jwk.construct(self.private_pem, ALGORITHM)


@dataclass
class TokenFactory:
    """Signs access tokens the way customers does, with a key the tests trust."""

    keys: KeyPair = field(default_factory=KeyPair.generate)
    issuer: str = TEST_ISSUER
    audience: str = TEST_AUDIENCE

    def claims(
        self,
        subject: str = "user-1",
        roles: Iterable[str] = ("customer",),
        *,
        email: str | None = None,
        ttl: int = 900,
        **overrides: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "email": email or f"{subject}@example.com",
            "roles": list(roles),
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: Mapping[str, Any], headers: Mapping[str, Any] | None = None) -> str:
        return str(
            jwt.encode(
                dict(claims),
                self.keys.signing_key,
                algorithm=ALGORITHM,
                headers={"kid": self.keys.kid, **(headers or {})},
            )
        )

    def token(
        self, subject: str = "user-1", roles: Iterable[str] = ("customer",), **kw: Any
    ) -> str:
        return self.sign(self.claims(subject, roles, **kw))

    def auth(
        self, subject: str = "user-1", roles: Iterable[str] = ("customer",), **kw: Any
    ) -> dict[str, str]:
        """An ``Authorization`` header for a caller with these roles."""
        return {"Authorization": f"Bearer {self.token(subject, roles, **kw)}"}

    def service_env(self) -> dict[str, str]:
        """The environment a service process needs to trust these tokens."""
        return {
            "AUTH_PUBLIC_KEY": self.keys.public_pem,
            "AUTH_ISSUER": self.issuer,
            "AUTH_AUDIENCE": self.audience,
        }


async def refused(verifier: TokenVerifier, token: str) -> bool:
    """Whether ``verifier`` refuses ``token`` (Unauthorized: a 401)."""
    try:
        await verifier.verify(token)
    except Unauthorized:
        return True
    return False
