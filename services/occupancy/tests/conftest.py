from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.testing import TokenFactory
from common.testing.plugin import ServiceUnderTest
from occupancy.config import SERVICE_DIR, Settings
from occupancy.main import create_app


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("occupancy", SERVICE_DIR, create_app, Settings)


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def settings_overrides(logs_dir: Path) -> dict[str, Any]:
    """Daily files in a folder of the test; the exporter looks often so tests wait little."""
    return {"logs_dir": logs_dir, "export_interval_seconds": 0.05}


@pytest.fixture
def staff(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.auth("staff-1", ["staff"])


@pytest.fixture
def admin(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.auth("admin-1", ["admin"])


@pytest.fixture
def customer(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.auth("customer-1", ["customer"])


@dataclass
class OccupancyApi:
    """Shortcuts for the calls most tests make, and a look at the tables."""

    client: httpx.AsyncClient
    engine: AsyncEngine
    staff: dict[str, str]
    admin: dict[str, str]

    async def create_room(self, slug: str, **fields: Any) -> dict[str, Any]:
        body = {"slug": slug, "title": f"Room {slug}", **fields}
        response = await self.client.post("/occupancy/rooms", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def register(self, room: str, name: str) -> httpx.Response:
        return await self.client.post(
            f"/occupancy/rooms/{room}/register", json={"name": name}, headers=self.staff
        )

    async def unregister(self, room: str, name: str) -> httpx.Response:
        return await self.client.post(
            f"/occupancy/rooms/{room}/unregister", json={"name": name}, headers=self.staff
        )

    async def status(self, room: str) -> dict[str, Any]:
        response = await self.client.get(f"/occupancy/rooms/{room}/status", headers=self.staff)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    @staticmethod
    def problem(response: httpx.Response, status: int) -> dict[str, Any]:
        """The body of a problem+json response with this status."""
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body: dict[str, Any] = response.json()
        assert body["status"] == status
        return body

    async def count(self, table: str, where: str = "true", **params: Any) -> int:
        async with self.engine.connect() as connection:
            result = await connection.execute(
                text(f"SELECT count(*) FROM occupancy.{table} WHERE {where}"), params
            )
            return int(result.scalar_one())

    async def execute(self, statement: str, **params: Any) -> list[Any]:
        async with self.engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []


@pytest.fixture
def api(
    client: httpx.AsyncClient,
    admin_engine: AsyncEngine,
    staff: dict[str, str],
    admin: dict[str, str],
) -> OccupancyApi:
    return OccupancyApi(client, admin_engine, staff, admin)
