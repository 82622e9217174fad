"""Token verification through a real app: one valid token, and every forgery refused with 401."""

import time
from collections.abc import Callable

import httpx
import pytest

from common.auth import require_roles
from common.testing import TokenFactory
from common.testing.forgeries import forged_tokens


def now() -> int:
    return int(time.time())


# Beyond the platform's catalogue: the claim types python-jose lets through or trips over.
MALFORMED_CLAIMS: dict[str, Callable[[TokenFactory], str]] = {
    "exp a boolean": lambda f: f.sign(f.claims(exp=True)),
    "exp a list": lambda f: f.sign(f.claims(exp=[now() + 900])),
    "exp infinite": lambda f: f.sign(f.claims(exp=float("inf"))),
    "iat a string": lambda f: f.sign(f.claims(iat="yesterday")),
    "missing iat": lambda f: f.sign(f.claims(iat=None)),
    "nbf a string": lambda f: f.sign(f.claims(nbf="0")),
    "payload not an object": lambda f: f.sign(f.claims()).split(".")[0] + ".WzFd.",
    "crit header": lambda f: f.sign(f.claims(), headers={"crit": ["exp"]}),
}


@pytest.fixture(scope="module")
def forgeries(token_factory: TokenFactory) -> dict[str, str | None]:
    return {
        **forged_tokens(token_factory),
        **{name: forge(token_factory) for name, forge in MALFORMED_CLAIMS.items()},
    }


FORGERY_NAMES = [*forged_tokens(TokenFactory()), *MALFORMED_CLAIMS]


async def test_a_valid_token_is_accepted(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    response = await client.get(
        "/probe/me", headers=token_factory.auth("alice", ["customer", "staff"])
    )
    assert response.status_code == 200
    assert response.json() == {"subject": "alice", "roles": ["customer", "staff"]}


@pytest.mark.parametrize("name", FORGERY_NAMES)
async def test_forged_tokens_are_refused_with_a_problem(
    client: httpx.AsyncClient, forgeries: dict[str, str | None], name: str
) -> None:
    token = forgeries[name]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = await client.get("/probe/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    challenge = "Bearer" if token is None else 'Bearer error="invalid_token"'
    assert response.headers["www-authenticate"] == challenge
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


def test_require_roles_needs_a_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require_roles()


async def test_docs_offer_the_login_of_customers_for_swaggers_authorize_button(
    client: httpx.AsyncClient,
) -> None:
    """Every service's /docs logs in at customers' /auth/login, through the gateway's URL."""
    spec = (await client.get("/probe/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/auth/login"
    assert spec["paths"]["/probe/me"]["get"]["security"] == [{"OAuth2PasswordBearer": []}]
