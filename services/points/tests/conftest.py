from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from common.testing import TokenFactory
from common.testing.checks import ServiceApi
from common.testing.plugin import ServiceUnderTest
from points.config import SERVICE_DIR, Settings
from points.main import create_app

# The exercise's five transactions, in the order they are added.
EXAMPLE = [
    {"payer": "DANNON", "points": 1000, "timestamp": "2020-11-02T14:00:00Z"},
    {"payer": "UNILEVER", "points": 200, "timestamp": "2020-10-31T11:00:00Z"},
    {"payer": "DANNON", "points": -200, "timestamp": "2020-10-31T15:00:00Z"},
    {"payer": "MILLER COORS", "points": 10000, "timestamp": "2020-11-01T14:00:00Z"},
    {"payer": "DANNON", "points": 300, "timestamp": "2020-10-31T10:00:00Z"},
]
EXAMPLE_SPEND = [
    {"payer": "DANNON", "points": -100},
    {"payer": "UNILEVER", "points": -200},
    {"payer": "MILLER COORS", "points": -4700},
]
EXAMPLE_BALANCE = {"DANNON": 1000, "UNILEVER": 0, "MILLER COORS": 5300}


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("points", SERVICE_DIR, create_app, Settings)


@dataclass
class PointsApi(ServiceApi):
    """HTTP shortcuts on one account's ledger, and a look at the tables."""

    schema = "points"
    tokens: TokenFactory

    def caller(
        self, subject: str = "alice", roles: tuple[str, ...] = ("customer",)
    ) -> dict[str, str]:
        return self.tokens.auth(subject, roles)

    async def add(
        self,
        headers: dict[str, str],
        payer: str,
        points: int,
        timestamp: str = "2020-11-02T14:00:00Z",
    ) -> httpx.Response:
        body = {"payer": payer, "points": points, "timestamp": timestamp}
        return await self.client.post("/points/transactions", json=body, headers=headers)

    async def add_all(self, headers: dict[str, str], transactions: list[dict[str, Any]]) -> None:
        for transaction in transactions:
            response = await self.client.post(
                "/points/transactions", json=transaction, headers=headers
            )
            assert response.status_code == 201, response.text

    async def spend(self, headers: dict[str, str], points: int) -> httpx.Response:
        return await self.client.post("/points/spend", json={"points": points}, headers=headers)

    async def balance(self, headers: dict[str, str]) -> dict[str, int]:
        response = await self.client.get("/points/balance", headers=headers)
        assert response.status_code == 200, response.text
        balance: dict[str, int] = response.json()
        return balance

    async def snapshot(self) -> list[list[Any]]:
        """Every row of the ledger's tables, to show that a refused request changed nothing."""
        tables = ["accounts", "payers", "transactions", "spends", "spend_parts", "idempotency_keys"]
        return [
            await self.execute(f"SELECT * FROM points.{table} ORDER BY 1, 2") for table in tables
        ]


@dataclass(frozen=True)
class Example:
    """The exercise's example: its transactions, its spend of 5000 and the balance after."""

    transactions: list[dict[str, Any]]
    spend: list[dict[str, Any]]
    balance: dict[str, int]


@pytest.fixture
def example() -> Example:
    return Example(EXAMPLE, EXAMPLE_SPEND, EXAMPLE_BALANCE)


@pytest.fixture
def api(
    client: httpx.AsyncClient, admin_engine: AsyncEngine, token_factory: TokenFactory
) -> PointsApi:
    return PointsApi(client, admin_engine, token_factory)
