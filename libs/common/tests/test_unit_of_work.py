"""The unit of work and database-error mapping, against real PostgreSQL constraints.

A probe service ("uow") owns a schema with a unique, an exclusion, a check and a foreign-key
constraint; its routes write through the request's driver transaction (``DbTransaction``) as
services do: commit, rollback, problems, retries, a dead pooled connection, an unreachable
database.
"""

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.app import create_service_app
from common.errors import NotFound, Unprocessable
from common.schemas import PageQuery, RequestBody
from common.settings import CommonSettings
from common.sql import DbTransaction, Sql
from common.testing import TokenFactory
from common.testing.checks import assert_problem
from common.testing.plugin import ServiceUnderTest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # sqlmodel: prefer exec()

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS uow;
CREATE TABLE IF NOT EXISTS uow.owners (id bigint PRIMARY KEY);
CREATE TABLE IF NOT EXISTS uow.items (
    name text PRIMARY KEY,
    quantity integer NOT NULL DEFAULT 0,
    CONSTRAINT items_quantity_not_negative CHECK (quantity >= 0),
    CONSTRAINT items_name_short CHECK (length(name) <= 40)
);
CREATE TABLE IF NOT EXISTS uow.bookings (
    id bigserial PRIMARY KEY,
    owner_id bigint NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    CONSTRAINT bookings_owner_known FOREIGN KEY (owner_id) REFERENCES uow.owners (id),
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
        int8range(owner_id, owner_id, '[]') WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
    )
);
"""
CONSTRAINT_PROBLEMS = {
    "items_quantity_not_negative": Unprocessable("The quantity cannot go below zero"),
    "bookings_owner_known": NotFound("No such owner"),
    "bookings_no_overlap": Unprocessable("The owner has another booking then"),
}
attempts: dict[str, int] = {}
PREFIX = "/uow"


class Item(RequestBody):
    name: str
    quantity: int = 0
    note: str = ""


class Booking(RequestBody):
    owner_id: int
    starts_at: datetime
    ends_at: datetime


class Statements:
    """SQL text run on the request's transaction (a probe's statements, compiled per call)."""

    def __init__(self, transaction: DbTransaction) -> None:
        self.transaction = transaction

    async def rows(self, sql: str, **parameters: Any) -> list[Any]:
        return list(await self.transaction.fetch(Sql.of(sql), **parameters))


async def _statements(transaction: DbTransaction) -> Statements:
    return Statements(transaction)


Run = Annotated[Statements, Depends(_statements)]


def uow_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    @router.post("/items", status_code=201)
    async def add_item(item: Item, run: Run) -> dict[str, Any]:
        await run.rows(
            "INSERT INTO items (name, quantity) VALUES (:name, :quantity)",
            name=item.name,
            quantity=item.quantity,
        )
        return item.model_dump()

    @router.post("/items/then-fail")
    async def add_item_then_fail(item: Item, run: Run) -> None:
        await run.rows("INSERT INTO items (name) VALUES (:name)", name=item.name)
        raise Unprocessable("Refused after the insert")

    @router.post("/items/{name}/take")
    async def take(name: str, amount: int, run: Run) -> dict[str, int]:
        updated = await run.rows(
            "UPDATE items SET quantity = quantity - :amount WHERE name = :name RETURNING 1",
            name=name,
            amount=amount,
        )
        return {"updated": len(updated)}

    @router.post("/bookings", status_code=201)
    async def book(booking: Booking, run: Run) -> dict[str, str]:
        await run.rows(
            "INSERT INTO bookings (owner_id, starts_at, ends_at) "
            "VALUES (:owner_id, :starts_at, :ends_at)",
            **booking.model_dump(),
        )
        return {"status": "booked"}

    @router.post("/fails/{sqlstate}/{times}")
    async def fail(sqlstate: str, times: int, item: Item, run: Run) -> dict[str, Any]:
        """Raise the SQLSTATE (a real PostgreSQL error) on the first ``times`` runs."""
        key = f"{item.name}:{sqlstate}"
        attempts[key] = attempts.get(key, 0) + 1
        await run.rows("INSERT INTO items (name) VALUES (:name)", name=item.name)
        if attempts[key] <= times:
            code = {"40001": "serialization_failure", "40P01": "deadlock_detected"}[sqlstate]
            await run.rows(f"DO $$ BEGIN RAISE EXCEPTION 'probe' USING ERRCODE = '{code}'; END $$")
        return {"runs": attempts[key], "item": item.model_dump(exclude_defaults=True)}

    @router.post("/items/answer-409")
    async def add_item_then_answer_an_error(item: Item, run: Run) -> JSONResponse:
        """An error answered, not raised, after a write."""
        await run.rows("INSERT INTO items (name) VALUES (:name)", name=item.name)
        return JSONResponse({"detail": "refused"}, status_code=409)

    @router.post("/dies-once", status_code=201)
    async def insert_after_losing_the_connection(item: Item, run: Run) -> dict[str, int]:
        """The first run's connection dies under its own statement (as in a server restart)."""
        attempts[item.name] = attempts.get(item.name, 0) + 1
        await run.rows("INSERT INTO items (name) VALUES (:name)", name=item.name)
        if attempts[item.name] == 1:
            await run.rows("SELECT pg_terminate_backend(pg_backend_pid())")
        return {"runs": attempts[item.name]}

    @router.get("/items")
    async def list_items(query: Annotated[PageQuery, Query()]) -> dict[str, int]:
        return {"limit": query.limit, "offset": query.offset}

    @router.get("/items/{name}")
    async def read_item(name: str, run: Run) -> dict[str, Any]:
        found = await run.rows("SELECT quantity FROM items WHERE name = :name", name=name)
        if not found:
            raise NotFound("No such item")
        return {"name": name, "quantity": found[0][0]}

    @router.delete("/items/{name}", status_code=204)
    async def delete_item(name: str, run: Run) -> None:
        await run.rows("DELETE FROM items WHERE name = :name", name=name)

    @router.post("/counter")
    async def increment(run: Run) -> dict[str, int]:
        """A SERIALIZABLE read-modify-write of one row, once two requests have both read it."""
        await run.rows("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        quantity = (await run.rows("SELECT quantity FROM items WHERE name = 'n'"))[0][0]
        await counter_readers.arrive()
        await run.rows("UPDATE items SET quantity = :q WHERE name = 'n'", q=quantity + 1)
        return {"quantity": quantity + 1}

    return router


class Rendezvous:
    """Holds each arriving request until ``expected`` have arrived (a test sets it)."""

    def __init__(self) -> None:
        self.expected = 0
        self.arrived = 0
        self.all_here = asyncio.Event()

    def expect(self, count: int) -> None:
        self.expected, self.arrived = count, 0
        self.all_here.clear()

    async def arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= self.expected:
            self.all_here.set()
        await asyncio.wait_for(self.all_here.wait(), timeout=10)


counter_readers = Rendezvous()


def create_uow_app(settings: CommonSettings) -> FastAPI:
    return create_service_app(
        name="uow",
        settings=settings,
        routers=[uow_router()],
        constraint_problems=CONSTRAINT_PROBLEMS,
        body_limits={"/uow/fails/": 4 * 1024 * 1024},
    )


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("uow", None, create_uow_app, CommonSettings)


@pytest.fixture(scope="session")
async def uow_schema(admin_engine: AsyncEngine) -> None:
    async with admin_engine.begin() as connection:
        for statement in SCHEMA_SQL.split(";\n"):
            if statement.strip():
                await connection.execute(text(statement))


@pytest.fixture
def uow(uow_schema: None, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client of the probe's routes: paths are relative to its prefix."""
    attempts.clear()
    client.base_url = httpx.URL(f"http://testserver{PREFIX}/")
    return client


async def rows(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(text(sql))).all())


async def test_a_successful_request_commits(uow: httpx.AsyncClient, admin_engine: AsyncEngine):
    assert (await uow.post("/items", json={"name": "pen", "quantity": 2})).status_code == 201
    assert await rows(admin_engine, "SELECT name, quantity FROM uow.items") == [("pen", 2)]


async def test_a_failing_request_rolls_back(uow: httpx.AsyncClient, admin_engine: AsyncEngine):
    assert_problem(await uow.post("/items/then-fail", json={"name": "pen"}), 422)
    assert await rows(admin_engine, "SELECT name FROM uow.items") == []


async def test_an_error_answered_without_raising_rolls_back(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    """The transaction ends with the answer: a success commits, 400 or more rolls back."""
    response = await uow.post("/items/answer-409", json={"name": "pen"})
    assert response.status_code == 409
    assert await rows(admin_engine, "SELECT name FROM uow.items") == []


async def test_a_unique_violation_is_a_conflict_without_the_values(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    await uow.post("/items", json={"name": "pen", "quantity": 2})
    body = assert_problem(await uow.post("/items", json={"name": "pen", "quantity": 5}), 409)
    assert "pen" not in json.dumps(body)
    assert await rows(admin_engine, "SELECT quantity FROM uow.items") == [(2,)]


async def test_an_exclusion_violation_answers_the_registered_problem(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    async with admin_engine.begin() as connection:
        await connection.execute(text("INSERT INTO uow.owners VALUES (1)"))
    first = {"owner_id": 1, "starts_at": "2030-01-01T09:00Z", "ends_at": "2030-01-01T10:00Z"}
    overlapping = {**first, "starts_at": "2030-01-01T09:30Z", "ends_at": "2030-01-01T10:30Z"}
    back_to_back = {**first, "starts_at": "2030-01-01T10:00Z", "ends_at": "2030-01-01T11:00Z"}
    assert (await uow.post("/bookings", json=first)).status_code == 201
    body = assert_problem(await uow.post("/bookings", json=overlapping), 422)
    assert body["detail"] == "The owner has another booking then"
    assert (await uow.post("/bookings", json=back_to_back)).status_code == 201
    assert len(await rows(admin_engine, "SELECT id FROM uow.bookings")) == 2


async def test_concurrent_overlapping_bookings_let_exactly_one_through(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    """Inserts that conflict on an exclusion constraint while none has committed can deadlock
    in PostgreSQL (each waits for the other's row); the middleware runs the loser again, and
    after its last attempt answers 503 with Retry-After (seen on a loaded machine). Whatever
    the timing: one booking lands, every other answer is the registered 422 or that 503."""
    async with admin_engine.begin() as connection:
        await connection.execute(text("INSERT INTO uow.owners VALUES (1)"))
    slots = [
        {"owner_id": 1, "starts_at": f"2030-01-01T09:{minute:02}Z", "ends_at": "2030-01-01T11:00Z"}
        for minute in range(10)
    ]
    answers = await asyncio.gather(*(uow.post("/bookings", json=slot) for slot in slots))
    assert [answer.status_code for answer in answers].count(201) == 1
    refused = [answer for answer in answers if answer.status_code != 201]
    for answer in refused:
        detail = assert_problem(answer, answer.status_code)["detail"]
        if answer.status_code == 503:
            assert answer.headers["retry-after"] == "1"
        else:
            assert (answer.status_code, detail) == (422, "The owner has another booking then")
    assert len(await rows(admin_engine, "SELECT id FROM uow.bookings")) == 1


async def test_check_and_foreign_key_violations_answer_what_the_service_registered(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    await uow.post("/items", json={"name": "pen", "quantity": 1})
    body = assert_problem(await uow.post("/items/pen/take", params={"amount": 2}), 422)
    assert body["detail"] == "The quantity cannot go below zero"
    booking = {"owner_id": 9, "starts_at": "2030-01-01T09:00Z", "ends_at": "2030-01-01T10:00Z"}
    assert assert_problem(await uow.post("/bookings", json=booking), 404)["detail"] == (
        "No such owner"
    )
    assert await rows(admin_engine, "SELECT quantity FROM uow.items") == [(1,)]


async def test_an_unregistered_check_violation_is_a_500_logged_without_values(
    uow: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "secret-person@example.com-" + "x" * 30
    body = assert_problem(await uow.post("/items", json={"name": name}), 500)
    output = capsys.readouterr()
    assert "items_name_short" in output.out
    assert "secret-person" not in output.out + output.err + json.dumps(body)


@pytest.mark.parametrize("state", ["40001", "40P01"])
async def test_a_serialization_failure_or_deadlock_runs_the_request_again(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine, state: str
) -> None:
    response = await uow.post(f"/fails/{state}/2", json={"name": "pen", "quantity": 3})
    assert response.status_code == 200, response.text
    assert response.json() == {"runs": 3, "item": {"name": "pen", "quantity": 3}}  # body replayed
    assert await rows(admin_engine, "SELECT name FROM uow.items") == [("pen",)]
    metrics = (await uow.get("http://testserver/uow/metrics")).text
    assert (
        f'db_transaction_retries_total{{route="{PREFIX}/fails/{{sqlstate}}/{{times}}"}} 2.0'
        in metrics
    )


async def test_retries_are_bounded_then_503_with_retry_after(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    response = await uow.post("/fails/40001/99", json={"name": "pen"})
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "1"
    assert attempts == {"pen:40001": 3}
    assert await rows(admin_engine, "SELECT name FROM uow.items") == []


async def test_a_body_too_large_to_replay_runs_once_and_answers_503(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    big = {"name": "pen", "note": "x" * 1_100_000}  # over 1 MiB: kept for no second run
    response = await uow.post("/fails/40001/1", json=big)
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "1"
    assert attempts == {"pen:40001": 1}
    assert await rows(admin_engine, "SELECT name FROM uow.items") == []


async def test_a_route_with_its_own_body_limit_takes_more_than_the_others(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    big = {"name": "pen", "note": "x" * 1_100_000}
    assert_problem(await uow.post("/items", json=big), 413)
    assert (await uow.post("/fails/40001/0", json=big)).status_code == 200
    assert await rows(admin_engine, "SELECT name FROM uow.items") == [("pen",)]


async def test_real_concurrent_serializable_updates_all_land(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    """Two SERIALIZABLE read-modify-writes of one row: one fails, is run again, both land."""
    async with admin_engine.begin() as connection:
        await connection.execute(text("INSERT INTO uow.items (name, quantity) VALUES ('n', 0)"))
    counter_readers.expect(2)
    answers = await asyncio.gather(uow.post("/counter"), uow.post("/counter"))
    assert [answer.status_code for answer in answers] == [200, 200]
    assert sorted(answer.json()["quantity"] for answer in answers) == [1, 2]
    assert await rows(admin_engine, "SELECT quantity FROM uow.items") == [(2,)]


async def _kill_idle_connections(admin_engine: AsyncEngine) -> int:
    """End every idle backend but ours, as a server restart would: the pool does not know."""
    killed = await rows(
        admin_engine,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'",
    )
    return len(killed)


async def test_a_dead_pooled_connection_runs_the_request_again_once(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    """No ping before each checkout: the dead connection's error says it, and the request (its
    body replayed) runs again on a new connection, its effect written once."""
    assert (await uow.post("/items", json={"name": "warm"})).status_code == 201
    assert await _kill_idle_connections(admin_engine) >= 1
    response = await uow.post("/items", json={"name": "pen", "quantity": 2})
    assert response.status_code == 201, response.text
    assert await rows(admin_engine, "SELECT name, quantity FROM uow.items ORDER BY name") == [
        ("pen", 2),
        ("warm", 0),
    ]
    assert (await uow.get("/items/pen")).json() == {"name": "pen", "quantity": 2}


async def test_a_connection_lost_mid_request_runs_the_request_again(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    """Lost before its COMMIT: the first run's insert never happened, the second's did."""
    response = await uow.post("/dies-once", json={"name": "pen"})
    assert response.status_code == 201, response.text
    assert response.json() == {"runs": 2}
    assert await rows(admin_engine, "SELECT name FROM uow.items") == [("pen",)]


async def test_an_unreachable_database_is_a_503(uow_schema: None, settings: CommonSettings) -> None:
    down = settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:9/none"})
    application = create_uow_app(down)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(f"{PREFIX}/items/pen")
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "1"


async def test_a_nul_byte_in_path_or_query_is_a_400(uow: httpx.AsyncClient) -> None:
    assert_problem(await uow.get("/items/a%00b"), 400)
    assert_problem(await uow.get("/items", params={"limit": "\x00"}), 400)


async def test_a_nul_character_in_a_body_is_a_422_naming_the_field(
    uow: httpx.AsyncClient, admin_engine: AsyncEngine
) -> None:
    body = assert_problem(await uow.post("/items", json={"name": "a\u0000b"}), 422)
    assert body["errors"][0]["loc"] == ["body", "name"]
    assert await rows(admin_engine, "SELECT name FROM uow.items") == []


@pytest.mark.parametrize(
    "params",
    [{"offset": "9223372036854775808"}, {"offset": "-1"}, {"limit": "0"}, {"limit": "201"}],
)
async def test_paging_beyond_its_bounds_is_a_422(
    uow: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_problem(await uow.get("/items", params=params), 422)


async def test_responses_name_their_route_and_authenticated_ones_are_not_cached(
    uow: httpx.AsyncClient,
    token_factory: TokenFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await uow.post("/items", json={"name": "someone@example.com"})
    response = await uow.get("/items/someone@example.com", headers=token_factory.auth())
    assert response.headers["x-route"] == f"{PREFIX}/items/{{name}}"
    assert response.headers["cache-control"] == "no-store"
    assert "cache-control" not in (await uow.get("/items/someone@example.com")).headers
    deleted = await uow.delete("/items/someone@example.com")
    assert deleted.status_code == 204
    assert "content-type" not in deleted.headers
    assert "someone@example.com" not in capsys.readouterr().out


async def test_openapi_documents_every_error_as_problem_json(uow: httpx.AsyncClient) -> None:
    spec = (await uow.get("http://testserver/uow/openapi.json")).json()
    errors = [
        (path, code, response)
        for path, item in spec["paths"].items()
        for operation in item.values()
        for code, response in operation["responses"].items()
        if code.startswith(("4", "5"))
    ]
    assert errors
    for _path, _code, response in errors:
        assert list(response["content"]) == ["application/problem+json"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
