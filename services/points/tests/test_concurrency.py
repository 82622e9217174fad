"""Simultaneous requests on one ledger, each on its own database connection: no payer below
zero, no update lost, no point spent twice."""

import asyncio
import random
from typing import Any

import httpx
import pytest
from sqlalchemy import text

CLIENTS = 50
PAYERS = ["DANNON", "UNILEVER", "MILLER COORS", "ACME"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # 25 + 25 overflow: every one of the 50 clients gets its own connection and transaction.
    return {"db_pool_size": 25}


async def assert_ledger_consistent(api, account: str) -> None:
    """Every invariant, computed from the rows themselves."""
    by_payer = await api.execute(
        "SELECT p.name, p.balance, p.pending_debit, "
        "  (SELECT coalesce(sum(t.points), 0) FROM points.transactions t WHERE t.payer_id = p.id),"
        "  (SELECT coalesce(sum(t.remaining), 0) FROM points.transactions t "
        "   WHERE t.payer_id = p.id),"
        "  (SELECT coalesce(sum(s.points), 0) FROM points.spend_parts s WHERE s.payer_id = p.id)"
        " FROM points.payers p WHERE p.account_id = :account",
        account=account,
    )
    for name, balance, pending, net_transactions, remaining, spent in by_payer:
        assert balance >= 0, name
        assert balance == net_transactions - spent, name  # the balance is the ledger's sum
        assert balance == remaining - pending, name  # and what its credits have left
    [(credited, spent_in_all)] = await api.execute(
        "SELECT (SELECT coalesce(sum(points), 0) FROM points.transactions "
        "        WHERE account_id = :account AND points > 0),"
        "       (SELECT coalesce(sum(points), 0) FROM points.spends WHERE account_id = :account)",
        account=account,
    )
    assert spent_in_all <= credited
    mismatched = await api.execute(
        "SELECT s.id FROM points.spends s JOIN points.spend_parts p ON p.spend_id = s.id "
        "WHERE s.account_id = :account GROUP BY s.id, s.points HAVING sum(p.points) <> s.points",
        account=account,
    )
    assert mismatched == []


async def test_fifty_clients_spending_the_same_points_spend_each_once(api) -> None:
    alice = api.caller()
    await api.add(alice, "DANNON", 100, "2020-01-01T00:00:00Z")
    await api.add(alice, "UNILEVER", 50, "2020-01-02T00:00:00Z")
    answers = await asyncio.gather(*(api.spend(alice, 7) for _ in range(CLIENTS)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == 150 // 7
    assert statuses.count(409) == CLIENTS - 150 // 7
    taken = sum(
        -part["points"] for answer in answers if answer.status_code == 200 for part in answer.json()
    )
    assert taken == 7 * (150 // 7)
    assert sum((await api.balance(alice)).values()) == 150 - taken
    await assert_ledger_consistent(api, "alice")


async def test_fifty_clients_mixing_adds_take_backs_and_spends_lose_nothing(api) -> None:
    alice = api.caller()
    randomness = random.Random(8)

    async def client_session(number: int) -> list[tuple[str, httpx.Response, int]]:
        done = []
        for _ in range(6):
            payer = randomness.choice(PAYERS)
            day = randomness.randint(1, 28)
            kind = randomness.choice(["add", "add", "take back", "spend"])
            if kind == "spend":
                points = randomness.randint(1, 60)
                done.append((kind, await api.spend(alice, points), points))
            else:
                points = randomness.randint(1, 50) * (-1 if kind == "take back" else 1)
                timestamp = f"2021-02-{day:02d}T{number % 24:02d}:00:00Z"
                done.append((kind, await api.add(alice, payer, points, timestamp), points))
        return done

    results = [
        item
        for batch in await asyncio.gather(*(client_session(n) for n in range(CLIENTS)))
        for item in batch
    ]
    for kind, response, _ in results:
        assert response.status_code in (200, 201, 409), (kind, response.text)
    accepted = [
        (kind, response, points) for kind, response, points in results if response.is_success
    ]
    added = sum(points for kind, _, points in accepted if kind != "spend")
    spent = sum(points for kind, _, points in accepted if kind == "spend")
    assert await api.count("transactions") == sum(1 for kind, _, _ in accepted if kind != "spend")
    assert await api.count("spends") == sum(1 for kind, _, _ in accepted if kind == "spend")
    balance = await api.balance(alice)
    assert sum(balance.values()) == added - spent  # no update lost
    assert all(points >= 0 for points in balance.values())
    for kind, response, points in accepted:
        if kind == "spend":
            assert sum(part["points"] for part in response.json()) == -points
    await assert_ledger_consistent(api, "alice")


async def test_take_backs_racing_spends_never_overdraw_a_payer(api) -> None:
    alice = api.caller()
    await api.add(alice, "DANNON", 100, "2020-01-01T00:00:00Z")
    await api.add(alice, "UNILEVER", 1000, "2020-01-02T00:00:00Z")
    answers = await asyncio.gather(
        *(api.add(alice, "DANNON", -10) if n % 2 else api.spend(alice, 10) for n in range(CLIENTS))
    )
    assert {answer.status_code for answer in answers} <= {200, 201, 409}
    assert (await api.balance(alice))["DANNON"] >= 0
    await assert_ledger_consistent(api, "alice")


async def test_many_ledgers_at_once_stay_apart(api) -> None:
    accounts = [f"user-{n}" for n in range(CLIENTS)]

    async def use(account: str) -> None:
        headers = api.caller(account)
        await api.add(headers, account.upper(), 10, "2020-01-01T00:00:00Z")
        await api.add(headers, "SHARED", 5, "2020-01-02T00:00:00Z")
        assert (await api.spend(headers, 12)).json() == [
            {"payer": account.upper(), "points": -10},
            {"payer": "SHARED", "points": -2},
        ]

    await asyncio.gather(*(use(account) for account in accounts))
    for account in accounts[:5]:
        assert await api.balance(api.caller(account)) == {account.upper(): 0, "SHARED": 3}
        await assert_ledger_consistent(api, account)
    assert await api.count("accounts") == CLIENTS


async def wait_until_blocked_on_a_lock(api, within_seconds: float = 10) -> None:
    """Poll until some backend of the test database waits for a row lock."""
    deadline = asyncio.get_running_loop().time() + within_seconds
    while asyncio.get_running_loop().time() < deadline:
        waiting = await api.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting[0][0]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no request waited for the account's lock")


@pytest.mark.parametrize("operation", ["add", "take back", "spend"])
async def test_every_change_waits_for_the_account_lock(api, admin_engine, operation) -> None:
    alice = api.caller("alice")
    await api.add(alice, "DANNON", 100)
    async with admin_engine.connect() as holder, holder.begin():
        # NO KEY UPDATE: foreign-key checks pass it, so only the ledger's own lock waits
        await holder.execute(
            text("SELECT 1 FROM points.accounts WHERE account_id = 'alice' FOR NO KEY UPDATE")
        )
        request = {
            "add": lambda: api.add(alice, "DANNON", 5),
            "take back": lambda: api.add(alice, "DANNON", -5),
            "spend": lambda: api.spend(alice, 5),
        }[operation]
        pending = asyncio.create_task(request())
        await wait_until_blocked_on_a_lock(api)
        assert not pending.done()
    assert (await pending).status_code in (200, 201)
