"""Idempotency-Key on both POSTs (IETF httpapi draft): replay, mismatch, in flight, scope."""

import asyncio

from sqlalchemy import text

from points.housekeeping import forget_expired_keys

TRANSACTION = {"payer": "DANNON", "points": 300, "timestamp": "2020-10-31T10:00:00Z"}


def with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_a_retried_transaction_is_stored_once_and_answered_the_same(api) -> None:
    alice = with_key(api.caller(), "add-1")
    first = await api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
    again = await api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await api.count("transactions") == 1
    assert await api.balance(api.caller()) == {"DANNON": 300}


async def test_a_retried_spend_is_spent_once(api) -> None:
    alice = api.caller()
    await api.add(alice, "DANNON", 100)
    keyed = with_key(alice, '"spend-1"')  # the draft's quoted form
    first = await api.client.post("/points/spend", json={"points": 60}, headers=keyed)
    again = await api.client.post("/points/spend", json={"points": 60}, headers=keyed)
    assert first.json() == again.json() == [{"payer": "DANNON", "points": -60}]
    assert await api.balance(alice) == {"DANNON": 40}
    assert await api.count("spends") == 1


async def test_the_same_key_with_another_body_is_422_and_changes_nothing(api) -> None:
    alice = with_key(api.caller(), "add-1")
    await api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
    before = await api.snapshot()
    other = {**TRANSACTION, "points": 301}
    api.problem(await api.client.post("/points/transactions", json=other, headers=alice), 422)
    spend = await api.client.post("/points/spend", json={"points": 1}, headers=alice)
    api.problem(spend, 422)  # a key names one request, not one per route
    assert await api.snapshot() == before


async def test_a_retry_while_the_first_is_in_flight_is_409(api, admin_engine) -> None:
    """The first request holds its key for its whole transaction; here another connection holds
    it, as a request still running would."""
    alice = with_key(api.caller("alice"), "slow-1")
    async with admin_engine.connect() as connection, connection.begin():
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended('alice slow-1', 0))")
        )
        busy = await api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
        api.problem(busy, 409)
        assert "in progress" in busy.json()["detail"]
    assert await api.count("transactions") == 0
    after = await api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
    assert after.status_code == 201


async def test_simultaneous_retries_store_one_transaction(api) -> None:
    alice = with_key(api.caller(), "burst-1")
    answers = await asyncio.gather(
        *(
            api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
            for _ in range(10)
        )
    )
    assert {answer.status_code for answer in answers} <= {201, 409}
    created = [answer.json() for answer in answers if answer.status_code == 201]
    assert created
    assert all(body == created[0] for body in created)
    assert await api.count("transactions") == 1


async def test_keys_are_scoped_to_the_account(api) -> None:
    for subject in ("alice", "bob"):
        headers = with_key(api.caller(subject), "shared-key")
        response = await api.client.post("/points/transactions", json=TRANSACTION, headers=headers)
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert await api.count("transactions") == 2


async def test_a_failed_request_leaves_its_key_free(api) -> None:
    alice = api.caller()
    keyed = with_key(alice, "spend-early")
    api.problem(await api.client.post("/points/spend", json={"points": 50}, headers=keyed), 409)
    assert await api.count("idempotency_keys") == 0
    await api.add(alice, "DANNON", 100)
    later = await api.client.post("/points/spend", json={"points": 50}, headers=keyed)
    assert later.status_code == 200
    assert await api.balance(alice) == {"DANNON": 50}


async def test_keys_are_kept_a_day_and_then_forgotten(api, app) -> None:
    alice = with_key(api.caller(), "old-key")
    await api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
    async with api.engine.begin() as connection:
        await connection.execute(
            text("UPDATE points.idempotency_keys SET created_at = now() - interval '23 hours'")
        )
    assert await forget_expired_keys(app.state.db, app.state.settings) == 0
    replay = await api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
    assert replay.headers["idempotent-replayed"] == "true"
    async with api.engine.begin() as connection:
        await connection.execute(
            text("UPDATE points.idempotency_keys SET created_at = now() - interval '25 hours'")
        )
    assert await forget_expired_keys(app.state.db, app.state.settings) == 1
    fresh = await api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
    assert "idempotent-replayed" not in fresh.headers
    assert await api.count("transactions") == 2


async def test_an_expired_key_not_yet_forgotten_is_used_afresh(api) -> None:
    alice = with_key(api.caller(), "stale-key")
    await api.client.post("/points/transactions", json=TRANSACTION, headers=alice)
    async with api.engine.begin() as connection:
        await connection.execute(
            text("UPDATE points.idempotency_keys SET created_at = now() - interval '25 hours'")
        )
    other = {**TRANSACTION, "points": 5}
    response = await api.client.post("/points/transactions", json=other, headers=alice)
    assert response.status_code == 201
    assert await api.count("idempotency_keys", "created_at > now() - interval '1 hour'") == 1


async def test_malformed_keys_are_422(api) -> None:
    alice = api.caller()
    for key in ["", "a" * 256, "has space", "naïve".encode(), 'in"side']:
        headers = {**alice, "Idempotency-Key": key}
        response = await api.client.post("/points/transactions", json=TRANSACTION, headers=headers)
        api.problem(response, 422)
    assert await api.count("transactions") == 0
