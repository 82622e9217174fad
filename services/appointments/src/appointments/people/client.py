"""customers over HTTP: a service token from its client-credentials grant, then look-ups."""

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from pydantic import SecretStr

# A cached token is renewed this long before it expires, so no request carries a dying one.
RENEW_BEFORE_EXPIRY_SECONDS = 30


class CustomersUnavailable(Exception):
    """customers could not be reached, or answered with an error of its own."""


@dataclass(frozen=True)
class Customer:
    subject: str
    email: str
    roles: frozenset[str]


@dataclass
class _CachedToken:
    value: str
    renew_at: float


class CustomersClient:
    """Looks customers up by email with a ``service`` token it fetches and caches."""

    def __init__(
        self, http: httpx.AsyncClient, *, client_id: str, client_secret: SecretStr | None
    ) -> None:
        self.http = http
        self.client_id = client_id
        self.client_secret = client_secret
        self._token: _CachedToken | None = None
        self._token_lock = asyncio.Lock()

    async def by_email(self, email: str) -> Customer | None:
        """The customer with this email, or None when customers has none."""
        response = await self._get(f"/customers/{quote(email, safe='@')}")
        if response.status_code == httpx.codes.UNAUTHORIZED:  # e.g. customers rotated its keys
            response = await self._get(f"/customers/{quote(email, safe='@')}", renew=True)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        if response.status_code != httpx.codes.OK:
            raise CustomersUnavailable(f"customers answered {response.status_code}")
        try:
            body = response.json()
            return Customer(body["customer_id"], body["email"], frozenset(body["roles"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise CustomersUnavailable("customers answered no customer record") from exc

    async def _get(self, path: str, *, renew: bool = False) -> httpx.Response:
        token = await self._service_token(renew=renew)
        try:
            return await self.http.get(path, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise CustomersUnavailable(f"customers is unreachable: {type(exc).__name__}") from exc

    async def _service_token(self, *, renew: bool) -> str:
        async with self._token_lock:
            cached = self._token
            if cached is None or renew or time.monotonic() >= cached.renew_at:
                cached = self._token = await self._fetch_token()
            return cached.value

    async def _fetch_token(self) -> _CachedToken:
        if self.client_secret is None:
            raise CustomersUnavailable("APPOINTMENTS_CLIENT_SECRET is not configured")
        try:
            response = await self.http.post(
                "/auth/token",
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret.get_secret_value()),
            )
        except httpx.HTTPError as exc:
            raise CustomersUnavailable(f"customers is unreachable: {type(exc).__name__}") from exc
        if response.status_code != httpx.codes.OK:
            raise CustomersUnavailable(
                f"customers refused the service token: {response.status_code}"
            )
        try:
            body = response.json()
            lifetime = max(0, int(body["expires_in"]) - RENEW_BEFORE_EXPIRY_SECONDS)
            return _CachedToken(str(body["access_token"]), time.monotonic() + lifetime)
        except (ValueError, KeyError, TypeError) as exc:
            raise CustomersUnavailable("customers answered no token") from exc
