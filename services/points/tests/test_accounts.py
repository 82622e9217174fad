"""Who may use which ledger: each account its own; admins and service tokens any; 404 else."""

import pytest


async def test_two_accounts_are_kept_apart(api, example) -> None:
    alice, bob = api.caller("alice"), api.caller("bob")
    await api.add_all(alice, example.transactions)
    await api.add(bob, "ACME", 10)
    assert await api.balance(bob) == {"ACME": 10}
    assert api.problem(await api.spend(bob, 11), 409)["available"] == 10
    bob_history = (await api.client.get("/points/transactions", headers=bob)).json()
    assert [item["payer"] for item in bob_history["items"]] == ["ACME"]
    assert (await api.spend(alice, 5000)).json() == example.spend
    assert await api.balance(alice) == example.balance


@pytest.mark.parametrize("roles", [("admin",), ("service",)])
async def test_admins_and_services_use_any_ledger_by_its_id(api, example, roles) -> None:
    operator = api.caller("operator", roles)
    for transaction in example.transactions:
        added = await api.client.post(
            "/points/accounts/alice/transactions", json=transaction, headers=operator
        )
        assert added.status_code == 201, added.text
    spent = await api.client.post(
        "/points/accounts/alice/spend", json={"points": 5000}, headers=operator
    )
    assert spent.json() == example.spend
    assert (
        await api.client.get("/points/accounts/alice/balance", headers=operator)
    ).json() == example.balance
    assert await api.balance(api.caller("alice")) == example.balance  # the holder sees it too
    history = await api.client.get("/points/accounts/alice/spends", headers=operator)
    assert history.json()["items"][0]["breakdown"] == example.spend
    assert await api.balance(operator) == {}  # the operator's own ledger is untouched


async def test_a_holder_may_use_their_own_ledger_by_its_id(api) -> None:
    alice = api.caller("alice")
    added = await api.client.post(
        "/points/accounts/alice/addTransaction",
        json={"payer": "P", "points": 5, "timestamp": "2020-01-01T00:00:00Z"},
        headers=alice,
    )
    assert added.status_code == 201
    assert await api.balance(alice) == {"P": 5}


async def test_another_account_is_404_and_cannot_be_told_from_a_missing_one(api) -> None:
    await api.add(api.caller("alice"), "DANNON", 100)
    before = await api.snapshot()
    mallory = api.caller("mallory", ("customer", "staff", "doctor"))
    body = {"payer": "DANNON", "points": 5, "timestamp": "2020-01-01T00:00:00Z"}
    for account in ("alice", "nobody"):
        prefix = f"/points/accounts/{account}"
        attempts = [
            await api.client.get(f"{prefix}/balance", headers=mallory),
            await api.client.get(f"{prefix}/transactions", headers=mallory),
            await api.client.get(f"{prefix}/spends", headers=mallory),
            await api.client.post(f"{prefix}/transactions", json=body, headers=mallory),
            await api.client.post(f"{prefix}/addTransaction", json=body, headers=mallory),
            await api.client.post(f"{prefix}/spend", json={"points": 1}, headers=mallory),
            await api.client.delete(prefix, headers=mallory),
        ]
        details = {api.problem(response, 404)["detail"] for response in attempts}
        assert details == {"No such ledger, or not the caller's to see"}
    assert await api.snapshot() == before


async def test_a_holder_deletes_their_own_ledger_and_starts_afresh(api, example) -> None:
    alice = api.caller("alice")
    await api.add_all(alice, example.transactions)
    await api.spend(alice, 5000)
    await api.add(api.caller("bob"), "ACME", 10)
    deleted = await api.client.delete("/points/accounts/alice", headers=alice)
    assert deleted.status_code == 204
    assert await api.balance(alice) == {}
    assert await api.count("accounts", "account_id = 'alice'") == 0
    for table in ("payers", "transactions", "spends"):
        assert await api.count(table, "account_id = 'alice'") == 0, table
    assert await api.count("spend_parts") == 0
    assert await api.balance(api.caller("bob")) == {"ACME": 10}
    again = await api.client.delete("/points/accounts/alice", headers=alice)
    api.problem(again, 404)


async def test_an_admin_deletes_any_ledger_and_a_service_may_not(api) -> None:
    await api.add(api.caller("alice"), "DANNON", 100)
    refused = await api.client.delete(
        "/points/accounts/alice", headers=api.caller("partner", ("service",))
    )
    api.problem(refused, 404)
    assert await api.count("accounts") == 1
    deleted = await api.client.delete(
        "/points/accounts/alice", headers=api.caller("root", ("admin",))
    )
    assert deleted.status_code == 204
    assert await api.count("accounts") == 0


async def test_deleting_is_never_a_get_and_there_is_no_flush(api) -> None:
    await api.add(api.caller("alice"), "DANNON", 100)
    admin = api.caller("root", ("admin",))
    assert (await api.client.get("/points/accounts/alice", headers=admin)).status_code == 405
    for path in ("/points/flushDB", "/flushDB"):
        assert (await api.client.get(path, headers=admin)).status_code == 404
        assert (await api.client.post(path, headers=admin)).status_code == 404
    assert await api.count("transactions") == 1


@pytest.mark.parametrize(
    ("account", "status"),
    [("-starts-with-dash", 422), ("has space", 422), ("x" * 129, 422), ("a/b", 404)],
)
async def test_a_malformed_account_id_is_refused(api, account, status) -> None:
    admin = api.caller("root", ("admin",))
    response = await api.client.get(f"/points/accounts/{account}/balance", headers=admin)
    api.problem(response, status)
    added = await api.client.post(
        f"/points/accounts/{account}/transactions",
        json={"payer": "P", "points": 5, "timestamp": "2020-01-01T00:00:00Z"},
        headers=admin,
    )
    api.problem(added, status)
    assert await api.count("accounts") == 0
