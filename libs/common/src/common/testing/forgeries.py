"""Forged access tokens that every secured operation must refuse with 401.

One catalogue for the verifier's own tests and for the platform-wide test that sends each of
them to every secured operation of every service. Each forgery claims the roles it is given
(every role, in the platform-wide test), so a forgery that got through would be admitted, not
stopped by a role check.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

from common.auth import public_jwk
from common.testing import KeyPair, TokenFactory

ONE_MEGABYTE = 1_000_000


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_json(value: object) -> str:
    return _b64url(json.dumps(value).encode())


def forged_tokens(
    factory: TokenFactory, subject: str = "user-1", *, roles: Sequence[str] = ("admin",)
) -> dict[str, str | None]:
    """Name -> bearer token (None: no token at all) for the issuer ``factory`` impersonates.

    Each forgery claims ``roles``: give every role the services under test check.
    """
    now = int(time.time())
    impostor = TokenFactory(keys=KeyPair.generate(), issuer=factory.issuer)

    def claims(**overrides: Any) -> dict[str, Any]:
        return factory.claims(subject, list(roles), **overrides)

    def signed(**overrides: Any) -> str:
        return factory.sign(claims(**overrides))

    def unsigned(alg: str) -> str:
        header = _b64url_json({"alg": alg, "typ": "JWT", "kid": factory.keys.kid})
        return f"{header}.{_b64url_json(claims())}."

    def hs256_keyed_with_the_public_key() -> str:
        """The classic confusion: HMAC keyed with the RSA public key the verifier trusts."""
        header = _b64url_json({"alg": "HS256", "typ": "JWT", "kid": factory.keys.kid})
        signing_input = f"{header}.{_b64url_json(claims())}"
        key = factory.keys.public_pem.encode()
        mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(mac)}"

    def tampered() -> str:
        """A genuine token whose claims were changed after signing."""
        header, _, signature = factory.sign(factory.claims(subject, ["customer"])).split(".")
        return f"{header}.{_b64url_json(claims())}.{signature}"

    def self_signed(header: str, value: object) -> str:
        """Signed by the impostor, whose key the token carries or points to."""
        return impostor.sign(claims(), headers={"kid": factory.keys.kid, header: value})

    return {
        "no token": None,
        "alg none": unsigned("none"),
        "alg None": unsigned("None"),
        "HS256 keyed with the public key": hs256_keyed_with_the_public_key(),
        "another key under the real kid": impostor.sign(
            claims(), headers={"kid": factory.keys.kid}
        ),
        "unknown kid": impostor.sign(claims()),
        "no kid": factory.sign(claims(), headers={"kid": None}),
        "embedded jwk": self_signed("jwk", public_jwk(impostor.keys.public_pem)),
        "jku header": self_signed("jku", "https://evil.example/jwks.json"),
        "x5u header": self_signed("x5u", "https://evil.example/cert.pem"),
        "expired": signed(iat=now - 1200, exp=now - 600),
        "not yet valid": signed(nbf=now + 3600),
        "issued in the future": signed(iat=now + 3600, exp=now + 4500),
        "wrong issuer": signed(iss="https://evil.example/auth"),
        "missing issuer": signed(iss=None),
        "wrong audience": signed(aud="another-platform"),
        "missing audience": signed(aud=None),
        "audience list without ours": signed(aud=["another-platform"]),
        "exp a numeric string": signed(exp=str(now + 900)),
        "missing exp": signed(exp=None),
        "missing sub": signed(sub=None),
        "roles not a list": factory.sign({**claims(), "roles": "admin"}),
        "tampered claims": tampered(),
        "garbage": "not-a-jwt",
        "empty segments": "..",
        "1 MB token": signed(padding="x" * ONE_MEGABYTE),
    }
