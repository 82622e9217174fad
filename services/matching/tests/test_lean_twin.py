"""The lean twin (bench/lean/matching.py) sends what the service sends for one person and
answers what it answers: the lean-ratio benchmark compares their costs only while both hold.

Both run here in this process on the test database, asked about the same people by two callers
with the same history; every statement either sends through asyncpg is captured (``sent``) and
compared, text and arguments, the callers' names and the clock's readings set aside.
"""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bench.lean import matching as twin
from common.testing import TokenFactory
from matching.generator import Generator
from matching.linkage.training import train
from matching.matches.questions import question

from .conftest import Capturing, MatchingApi, Sent

SERVICE, TWIN = "utility-service", "utility-twin"


@pytest.fixture
async def lean(
    settings: Any, token_factory: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The twin on the service's database, trusting the same tokens."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    for name, value in token_factory.service_env().items():
        monkeypatch.setenv(name, value)
    app: FastAPI = twin.create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def _people(data: Any) -> list[dict[str, Any]]:
    """Cohort members as the benchmark asks them: answered without a warning."""
    people = [
        {key: value for key, value in member.items() if key != "account_closed_on"}
        for member in data.cohort
    ]
    return [person for person in people if not question(person).warnings][:12]


def _normalized(statements: list[Sent], subject: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements with the caller's name and the clock's readings left out."""

    def value(argument: Any) -> Any:
        if isinstance(argument, datetime):
            return "<time>"
        if isinstance(argument, str) and subject in argument:
            return argument.replace(subject, "<caller>")
        return argument

    return [(s.query, tuple(value(argument) for argument in s.args)) for s in statements]


async def _ask(
    http: httpx.AsyncClient, tokens: TokenFactory, subject: str, person: dict[str, Any]
) -> Any:
    response = await http.post(
        "/matching/matches",
        json={"people": [person]},
        headers=tokens.auth(subject, ["utility"]),
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("trained", [False, True], ids=["starting-model", "learned-model"])
async def test_the_twin_sends_the_services_statements_and_gives_its_answers(
    api: MatchingApi,
    app: FastAPI,
    lean: httpx.AsyncClient,
    sent: Capturing,
    trained: bool,
) -> None:
    data = Generator(7).dataset(clients=120, cohort=40)
    await api.organization("Shelter One", "provider-1")
    await api.upload(data.enrollments)
    if trained:
        await train(app.state.db)
    people = _people(data)
    assert len(people) == 12
    # Each holds the model once asked (the service's may hold another test's until then).
    await _ask(api.client, api.tokens, SERVICE, people[0])
    await _ask(lean, api.tokens, TWIN, people[0])

    matched = 0
    for person in people:
        with sent() as by_service:
            answer = await _ask(api.client, api.tokens, SERVICE, person)
        with sent() as by_twin:
            twins_answer = await _ask(lean, api.tokens, TWIN, person)
        statements = _normalized(by_service, SERVICE)
        assert _normalized(by_twin, TWIN) == statements
        assert twins_answer == answer
        if answer["results"][0]["complete_matches"]:
            matched += 1
            # Two transactions of four statements each: the lock, the budgets, the variants
            # read and recorded; the candidates, the model with the names, the pairs compared,
            # the audit row.
            assert [query for query, _ in statements].count("BEGIN;") == 2
            assert len(statements) == 12
    assert matched  # some were found, so the answers compared are matches, not only empties
