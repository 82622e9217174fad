"""The ledger through HTTP: the exercise's example, ordering, take-backs, spending everything."""


async def test_the_exercise_example_comes_out_exactly(api, example) -> None:
    alice = api.caller()
    await api.add_all(alice, example.transactions)
    spent = await api.spend(alice, 5000)
    assert spent.status_code == 200, spent.text
    assert spent.json() == example.spend
    balance = await api.client.get("/points/balance", headers=alice)
    assert balance.json() == example.balance
    assert list(balance.json()) == ["DANNON", "UNILEVER", "MILLER COORS"]  # first seen first


async def test_the_original_routes_work_under_the_prefix(api, example) -> None:
    alice = api.caller()
    for transaction in example.transactions:
        added = await api.client.post("/points/addTransaction", json=transaction, headers=alice)
        assert added.status_code == 201, added.text
    assert (await api.spend(alice, 5000)).json() == example.spend
    assert await api.balance(alice) == example.balance


async def test_a_transaction_comes_back_as_stored(api) -> None:
    response = await api.add(api.caller(), "  DANNON  ", 300, "2020-10-31T11:00:00+01:00")
    assert response.status_code == 201
    body = response.json()
    assert (body["payer"], body["points"]) == ("DANNON", 300)
    assert body["timestamp"] == "2020-10-31T10:00:00Z"
    assert isinstance(body["id"], int)
    assert body["created_at"]


async def test_oldest_timestamp_is_spent_first_whatever_the_arrival_order(api) -> None:
    alice = api.caller()
    await api.add(alice, "NEW", 100, "2021-01-03T00:00:00Z")
    await api.add(alice, "OLD", 100, "2021-01-01T00:00:00Z")
    await api.add(alice, "MIDDLE", 100, "2021-01-02T00:00:00Z")
    assert (await api.spend(alice, 150)).json() == [
        {"payer": "OLD", "points": -100},
        {"payer": "MIDDLE", "points": -50},
    ]
    assert (await api.spend(alice, 100)).json() == [
        {"payer": "MIDDLE", "points": -50},
        {"payer": "NEW", "points": -50},
    ]
    assert await api.balance(alice) == {"NEW": 50, "OLD": 0, "MIDDLE": 0}


async def test_equal_timestamps_are_spent_in_arrival_order(api) -> None:
    alice = api.caller()
    for payer in ("B", "A", "C"):
        await api.add(alice, payer, 10, "2021-01-01T00:00:00Z")
    assert [part["payer"] for part in (await api.spend(alice, 25)).json()] == ["B", "A", "C"]


async def test_a_negative_transaction_that_fits_takes_from_the_oldest_points(api) -> None:
    alice = api.caller()
    await api.add(alice, "DANNON", 500, "2021-01-02T00:00:00Z")
    await api.add(alice, "UNILEVER", 100, "2021-01-03T00:00:00Z")
    taken = await api.add(alice, "DANNON", -500, "2021-01-04T00:00:00Z")
    assert taken.status_code == 201
    assert taken.json()["points"] == -500
    assert await api.balance(alice) == {"DANNON": 0, "UNILEVER": 100}
    # a DANNON credit arriving later with an older timestamp is not what was taken back
    await api.add(alice, "DANNON", 50, "2021-01-01T00:00:00Z")
    assert (await api.spend(alice, 100)).json() == [
        {"payer": "DANNON", "points": -50},
        {"payer": "UNILEVER", "points": -50},
    ]


async def test_a_negative_transaction_that_would_overdraw_is_409_and_stores_nothing(api) -> None:
    alice = api.caller()
    await api.add(alice, "DANNON", 100)
    before = await api.snapshot()
    refused = await api.add(alice, "DANNON", -101)
    body = api.problem(refused, 409)
    assert body["available"] == 100
    unknown = await api.add(alice, "NOBODY", -1)
    assert api.problem(unknown, 409)["available"] == 0
    assert await api.snapshot() == before
    assert await api.balance(alice) == {"DANNON": 100}


async def test_spending_exactly_everything_leaves_every_payer_at_zero(api, example) -> None:
    alice = api.caller()
    await api.add_all(alice, example.transactions)
    everything = sum(transaction["points"] for transaction in example.transactions)
    spent = await api.spend(alice, everything)
    assert spent.status_code == 200
    assert sum(part["points"] for part in spent.json()) == -everything
    assert await api.balance(alice) == {"DANNON": 0, "UNILEVER": 0, "MILLER COORS": 0}
    assert await api.count("transactions", "remaining > 0") == 0
    assert await api.count("payers", "pending_debit > 0") == 0


async def test_spending_more_than_everything_is_409_saying_what_is_available(api, example) -> None:
    alice = api.caller()
    await api.add_all(alice, example.transactions)
    before = await api.snapshot()
    body = api.problem(await api.spend(alice, 11_301), 409)
    assert body["available"] == 11_300
    assert "11300" in body["detail"]
    assert await api.snapshot() == before


async def test_spending_from_a_ledger_never_used_is_409_with_nothing_available(api) -> None:
    body = api.problem(await api.spend(api.caller("new"), 1), 409)
    assert body["available"] == 0
    assert await api.count("accounts") == 0


async def test_a_fresh_ledger_has_an_empty_balance_and_history(api) -> None:
    alice = api.caller()
    assert await api.balance(alice) == {}
    for path in ("/points/transactions", "/points/spends"):
        page = (await api.client.get(path, headers=alice)).json()
        assert page == {"items": [], "total": 0, "limit": 50, "offset": 0}


async def test_history_is_paginated_newest_first(api, example) -> None:
    alice = api.caller()
    await api.add_all(alice, example.transactions)
    await api.spend(alice, 5000)
    await api.spend(alice, 300)
    first = (await api.client.get("/points/transactions?limit=2", headers=alice)).json()
    assert first["total"] == 5
    assert [item["timestamp"] for item in first["items"]] == [
        "2020-11-02T14:00:00Z",
        "2020-11-01T14:00:00Z",
    ]
    rest = (await api.client.get("/points/transactions?limit=2&offset=2", headers=alice)).json()
    assert [(item["payer"], item["points"]) for item in rest["items"]] == [
        ("DANNON", -200),
        ("UNILEVER", 200),
    ]
    spends = (await api.client.get("/points/spends", headers=alice)).json()
    assert spends["total"] == 2
    assert [spend["points"] for spend in spends["items"]] == [300, 5000]
    assert spends["items"][0]["breakdown"] == [{"payer": "MILLER COORS", "points": -300}]
    assert spends["items"][1]["breakdown"] == example.spend


async def test_every_route_needs_a_token(api) -> None:
    for method, path in [
        ("POST", "/points/transactions"),
        ("POST", "/points/addTransaction"),
        ("POST", "/points/spend"),
        ("GET", "/points/balance"),
        ("GET", "/points/transactions"),
        ("GET", "/points/spends"),
        ("GET", "/points/accounts/alice/balance"),
        ("DELETE", "/points/accounts/alice"),
    ]:
        api.problem(await api.client.request(method, path), 401)
