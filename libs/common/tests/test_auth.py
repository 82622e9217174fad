"""Token verification through a real app: one valid token, and every forgery refused with 401."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx
import pytest

from common.auth import public_jwk, require_roles
from common.testing import KeyPair, TokenFactory


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value).encode())


def unsigned(factory: TokenFactory, alg: str) -> str:
    header = b64url_json({"alg": alg, "typ": "JWT", "kid": factory.keys.kid})
    return f"{header}.{b64url_json(factory.claims())}."


def hs256_with_public_key(factory: TokenFactory) -> str:
    """The classic confusion attack: HMAC keyed with the RSA public key the verifier trusts."""
    header = b64url_json({"alg": "HS256", "typ": "JWT", "kid": factory.keys.kid})
    signing_input = f"{header}.{b64url_json(factory.claims(roles=['admin']))}"
    key = factory.keys.public_pem.encode()
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def tampered(factory: TokenFactory) -> str:
    header, _, signature = factory.token().split(".")
    return f"{header}.{b64url_json(factory.claims(roles=['admin']))}.{signature}"


def signed_by_other_key(factory: TokenFactory) -> str:
    """Signed by an untrusted key but claiming the trusted key's kid."""
    impostor = TokenFactory(keys=KeyPair.generate())
    return impostor.sign(factory.claims(), headers={"kid": factory.keys.kid})


def unknown_kid(factory: TokenFactory) -> str:
    return factory.sign(factory.claims(), headers={"kid": "no-such-key"})


def embedded_key(header: str) -> Callable[[TokenFactory], str]:
    """Signed by the attacker's key, which the token carries (``jwk``) or points to (``jku``)."""

    def forge(factory: TokenFactory) -> str:
        impostor = TokenFactory(keys=KeyPair.generate())
        own_key = public_jwk(impostor.keys.public_pem)
        value = own_key if header == "jwk" else "https://evil.example/jwks.json"
        return impostor.sign(factory.claims(), headers={"kid": factory.keys.kid, header: value})

    return forge


def now() -> int:
    return int(time.time())


FORGERIES: dict[str, Callable[[TokenFactory], str]] = {
    "expired": lambda f: f.sign(f.claims(iat=int(time.time()) - 120, exp=int(time.time()) - 60)),
    "not yet valid": lambda f: f.sign(f.claims(nbf=int(time.time()) + 600)),
    "wrong issuer": lambda f: f.sign(f.claims(iss="https://evil.example/auth")),
    "wrong audience": lambda f: f.sign(f.claims(aud="another-platform")),
    "missing audience": lambda f: f.sign(f.claims(aud=None)),
    "missing issuer": lambda f: f.sign(f.claims(iss=None)),
    "issued in the future": lambda f: f.sign(f.claims(iat=now() + 3600, exp=now() + 4500)),
    "exp a numeric string": lambda f: f.sign(f.claims(exp=str(now() + 900))),
    "exp a boolean": lambda f: f.sign(f.claims(exp=True)),
    "exp a list": lambda f: f.sign(f.claims(exp=[now() + 900])),
    "iat a string": lambda f: f.sign(f.claims(iat="yesterday")),
    "missing iat": lambda f: f.sign(f.claims(iat=None)),
    "nbf a string": lambda f: f.sign(f.claims(nbf="0")),
    "missing sub": lambda f: f.sign(f.claims(sub=None)),
    "missing exp": lambda f: f.sign(f.claims(exp=None)),
    "roles not a list": lambda f: f.sign({**f.claims(), "roles": "admin"}),
    "wrong key": signed_by_other_key,
    "unknown kid": unknown_kid,
    "embedded jwk": embedded_key("jwk"),
    "jku header": embedded_key("jku"),
    "crit header": lambda f: f.sign(f.claims(), headers={"crit": ["exp"]}),
    "1 MB token": lambda f: f.sign(f.claims(padding="x" * 1_000_000)),
    "alg none": lambda f: unsigned(f, "none"),
    "HS256 with the public key": hs256_with_public_key,
    "tampered payload": tampered,
    "garbage": lambda f: "not-a-jwt",
    "empty segments": lambda f: "..",
}


async def test_a_valid_token_is_accepted(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    response = await client.get(
        "/probe/me", headers=token_factory.auth("alice", ["customer", "staff"])
    )
    assert response.status_code == 200
    assert response.json() == {"subject": "alice", "roles": ["customer", "staff"]}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
async def test_forged_tokens_are_refused_with_a_problem(
    client: httpx.AsyncClient, token_factory: TokenFactory, forgery: Callable[[TokenFactory], str]
) -> None:
    response = await client.get(
        "/probe/me", headers={"Authorization": f"Bearer {forgery(token_factory)}"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["status"] == 401


async def test_a_token_issued_within_the_clock_leeway_is_accepted(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    """Clocks differ a little between machines: an iat a few seconds ahead is no forgery."""
    token = token_factory.sign(token_factory.claims("skewed", iat=now() + 5))
    response = await client.get("/probe/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}],
    ids=["no header", "basic scheme", "empty bearer"],
)
async def test_a_missing_bearer_token_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/probe/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"] == "A bearer token is required"
    assert response.headers["www-authenticate"] == "Bearer"  # no error: nothing was tried


async def test_require_roles_admits_only_the_named_roles(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    admin = await client.get("/probe/admin", headers=token_factory.auth("root", ["admin"]))
    customer = await client.get("/probe/admin", headers=token_factory.auth("bob", ["customer"]))
    assert admin.status_code == 200
    assert customer.status_code == 403
    assert customer.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    assert customer.headers["content-type"] == "application/problem+json"
    assert "admin" in customer.json()["detail"]


def test_require_roles_refuses_a_role_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        require_roles("superuser")


async def test_docs_offer_the_login_of_customers_for_swaggers_authorize_button(
    client: httpx.AsyncClient,
) -> None:
    """Every service's /docs logs in at customers' /auth/login, through the gateway's URL."""
    spec = (await client.get("/probe/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/auth/login"
    assert spec["paths"]["/probe/me"]["get"]["security"] == [{"OAuth2PasswordBearer": []}]
