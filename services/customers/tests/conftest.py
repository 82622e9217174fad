from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.testing import TokenFactory
from common.testing.plugin import ServiceUnderTest
from customers.config import SERVICE_DIR, Settings
from customers.main import create_app

# argon2's smallest cost: these tests are about behaviour; test_passwords checks the real cost.
FAST_HASHING = {"argon2_memory_kib": 8, "argon2_time_cost": 1}


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("customers", SERVICE_DIR, create_app, Settings)


@pytest.fixture
def fast_settings(token_factory: TokenFactory) -> dict[str, Any]:
    """Signs with the test key pair, so ``token_factory`` tokens are this service's tokens too."""
    return {"signing_keys": [token_factory.keys.private_pem], **FAST_HASHING}


@pytest.fixture
def settings_overrides(fast_settings: dict[str, Any]) -> dict[str, Any]:
    return fast_settings


@dataclass
class CustomersApi:
    """Shortcuts for the HTTP calls most tests start with, and a look at the tables."""

    client: httpx.AsyncClient
    engine: AsyncEngine
    password: str = "violet-harbor-quilt-1987"
    other_password: str = "marble-orchid-lantern-204"

    async def signup(
        self, email: str, password: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"email": email, "password": password or self.password, **fields}
        response = await self.client.post("/auth/signup", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def login(self, email: str, password: str | None = None) -> dict[str, Any]:
        response = await self.client.post(
            "/auth/login", json={"email": email, "password": password or self.password}
        )
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def customer_with_tokens(self, email: str) -> dict[str, str]:
        """Sign up and log in; the ``Authorization`` header of the new customer."""
        await self.signup(email)
        return self.bearer(await self.login(email))

    @staticmethod
    def bearer(tokens: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    async def count(self, table: str, where: str = "true", **params: Any) -> int:
        async with self.engine.connect() as connection:
            result = await connection.execute(
                text(f"SELECT count(*) FROM customers.{table} WHERE {where}"), params
            )
            return int(result.scalar_one())

    async def execute(self, statement: str, **params: Any) -> list[Any]:
        async with self.engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []


@pytest.fixture
def api(client: httpx.AsyncClient, admin_engine: AsyncEngine) -> CustomersApi:
    return CustomersApi(client, admin_engine)
