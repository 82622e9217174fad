from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from common.testing import TokenFactory
from common.testing.checks import ServiceApi
from common.testing.plugin import ServiceUnderTest
from matching.config import SERVICE_DIR, Settings
from matching.main import create_app

# A person the tests look for, in several spellings; the SSN is one no other test data uses.
MARIA = {
    "first_name": "María",
    "last_name": "García-López",
    "dob": "1985-03-07",
    "ssn": "123-45-6789",
}


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("matching", SERVICE_DIR, create_app, Settings)


def enrollment(number: int, **fields: Any) -> dict[str, Any]:
    """An enrollment row of client C<number> (enrollment E<number>), Maria's identifiers unless
    ``fields`` say otherwise."""
    return {
        "client_id": f"C{number}",
        "enrollment_id": f"E{number}",
        **MARIA,
        "entry_date": "2023-05-01",
        "exit_date": "2023-09-30",
        "income_at_entry": 0,
        "income_at_exit": 850.5,
        "exit_destination": 410,
        **fields,
    }


@dataclass
class MatchingApi(ServiceApi):
    """Callers of every role, their organizations, and a look at the tables."""

    schema = "matching"
    tokens: TokenFactory

    @property
    def admin(self) -> dict[str, str]:
        return self.tokens.auth("admin-1", ["admin"])

    @property
    def utility(self) -> dict[str, str]:
        return self.tokens.auth("utility-1", ["utility"])

    def provider(self, subject: str = "provider-1") -> dict[str, str]:
        return self.tokens.auth(subject, ["provider"])

    async def organization(self, name: str, *members: str) -> int:
        """Create an organization with these members (subjects); its id."""
        response = await self.client.post(
            "/matching/organizations", json={"name": name}, headers=self.admin
        )
        assert response.status_code == 201, response.text
        organization_id: int = response.json()["id"]
        for subject in members:
            added = await self.client.post(
                f"/matching/organizations/{organization_id}/members",
                json={"subject": subject},
                headers=self.admin,
            )
            assert added.status_code == 201, added.text
        return organization_id

    async def upload(
        self, rows: Sequence[dict[str, Any]], subject: str = "provider-1", **params: str
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/matching/enrollments",
            json={"enrollments": list(rows)},
            params=params,
            headers=self.provider(subject),
        )
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        return report

    async def match(self, *people: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self.client.post(
            "/matching/matches", json={"people": list(people)}, headers=self.utility
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    async def table_text(self, table: str) -> str:
        """Every row of a table as PostgreSQL prints it, bytea and arrays included."""
        rows = await self.execute(f"SELECT t::text FROM matching.{table} t")
        return "\n".join(row for (row,) in rows)


@pytest.fixture
def api(
    client: httpx.AsyncClient, admin_engine: AsyncEngine, token_factory: TokenFactory
) -> MatchingApi:
    return MatchingApi(client, admin_engine, token_factory)


@dataclass(frozen=True)
class Sent:
    """One statement as the driver sent it: asyncpg's text (``$n``) and its arguments."""

    query: str
    args: tuple[Any, ...]


_SENT: ContextVar[list[Sent] | None] = ContextVar("matching_tests_sent", default=None)
Capturing = Callable[[], AbstractContextManager[list[Sent]]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Capturing:
    """``with sent() as statements:``: every statement the code run inside the block (and the
    tasks it starts) sends through asyncpg, in order, BEGIN and COMMIT included; the app's
    background tasks, started before, are left out."""
    for name in ("execute", "fetch", "fetchrow", "fetchval"):
        original = getattr(asyncpg.connection.Connection, name)

        def recorded(
            self: asyncpg.Connection, query: str, *args: Any, _original: Any = original, **kw: Any
        ) -> Any:
            statements = _SENT.get()
            if statements is not None:
                statements.append(Sent(query, args))
            return _original(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.connection.Connection, name, recorded)

    @contextmanager
    def capturing() -> Iterator[list[Sent]]:
        statements: list[Sent] = []
        token = _SENT.set(statements)
        try:
            yield statements
        finally:
            _SENT.reset(token)

    return capturing
