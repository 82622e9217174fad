"""Bad input gets a 4xx problem+json and changes nothing in the database."""

from typing import Any

import pytest

from common.testing.contract import body_validator

GOOD = {"payer": "DANNON", "points": 300, "timestamp": "2020-10-31T10:00:00Z"}


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def without(field: str) -> dict[str, Any]:
    return {name: value for name, value in GOOD.items() if name != field}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(without("payer"), "payer", id="missing payer"),
        pytest.param(without("points"), "points", id="missing points"),
        pytest.param(without("timestamp"), "timestamp", id="missing timestamp"),
        pytest.param(with_(account="bob"), "account", id="unknown field"),
        pytest.param(with_(points=0), "points", id="zero points"),
        pytest.param(with_(points=1.5), "points", id="fraction"),
        pytest.param(with_(points="300"), "points", id="string for a number"),
        pytest.param(with_(points=True), "points", id="boolean"),
        pytest.param(with_(points=None), "points", id="null points"),
        pytest.param(with_(points=2**63), "points", id="beyond 64 bits"),
        pytest.param(with_(points=-(2**64)), "points", id="beyond 64 bits negative"),
        pytest.param(with_(points=10**40), "points", id="huge"),
        pytest.param(with_(points=1_000_000_000_001), "points", id="over the limit"),
        pytest.param(with_(payer=""), "payer", id="empty payer"),
        pytest.param(with_(payer="   "), "payer", id="blank payer"),
        pytest.param(with_(payer="x" * 101), "payer", id="101 characters"),
        pytest.param(with_(payer="tab\tinside"), "payer", id="control character"),
        pytest.param(with_(payer="nul\x00inside"), "payer", id="NUL"),
        pytest.param(with_(payer=42), "payer", id="number as payer"),
        pytest.param(with_(payer=["DANNON"]), "payer", id="list as payer"),
        pytest.param(with_(timestamp="2020-10-31T10:00:00"), "timestamp", id="no time zone"),
        pytest.param(with_(timestamp="2020-10-31"), "timestamp", id="date only"),
        pytest.param(with_(timestamp="yesterday"), "timestamp", id="not a date"),
        pytest.param(with_(timestamp="2020-13-01T00:00:00Z"), "timestamp", id="month 13"),
        pytest.param(with_(timestamp="31/10/2020 10:00 +00:00"), "timestamp", id="not ISO"),
        pytest.param(with_(timestamp=1604138400), "timestamp", id="unix number"),
        pytest.param(with_(timestamp="1604138400"), "timestamp", id="unix number as text"),
        pytest.param(with_(timestamp="1969-12-31T23:59:59Z"), "timestamp", id="before 1970"),
        pytest.param(with_(timestamp="9999-12-31T23:59:59Z"), "timestamp", id="year 9999 end"),
        pytest.param(with_(timestamp="0001-01-01T00:00:00+01:00"), "timestamp", id="year 0"),
        pytest.param(with_(timestamp="9998-12-31T23:59:59.1234567Z"), "timestamp", id="7 digits"),
        pytest.param(with_(timestamp="2020-10-31T10:00Z"), "timestamp", id="no seconds"),
        pytest.param(with_(timestamp=""), "timestamp", id="empty timestamp"),
    ],
)
async def test_a_bad_transaction_is_422_and_stores_nothing(
    api, body: dict[str, Any], field: str
) -> None:
    alice = api.caller()
    await api.add(alice, "DANNON", 100)
    before = await api.snapshot()
    document = (await api.client.get("/points/openapi.json")).json()
    for path in ("/points/transactions", "/points/addTransaction"):
        response = await api.client.post(path, json=body, headers=alice)
        problem = api.problem(response, 422)
        assert field in {str(part) for error in problem["errors"] for part in error["loc"]}
        assert not body_validator(document, path, "post").is_valid(body), "the document allows it"
    assert await api.snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(with_(points=300.0), id="an integral float: 300.0 is 300 in JSON"),
        pytest.param(with_(payer="  DANNON "), id="payer trimmed"),
        pytest.param(with_(timestamp="1970-01-01T00:00:00Z"), id="first instant"),
        pytest.param(with_(timestamp="9998-12-31T23:59:59-14:00"), id="last day, any offset"),
    ],
)
async def test_what_the_document_allows_is_stored(api, body: dict[str, Any]) -> None:
    alice = api.caller()
    document = (await api.client.get("/points/openapi.json")).json()
    assert body_validator(document, "/points/transactions", "post").is_valid(body)
    response = await api.client.post("/points/transactions", json=body, headers=alice)
    assert response.status_code == 201, response.text
    assert await api.balance(alice) == {"DANNON": 300}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"points": 0},
        {"points": -5},
        {"points": 1.5},
        {"points": "5"},
        {"points": 2**63},
        {"points": 5, "payer": "DANNON"},
        {"amount": 5},
        [5],
        5,
        None,
    ],
)
async def test_a_bad_spend_is_422_and_spends_nothing(api, body: Any) -> None:
    alice = api.caller()
    await api.add(alice, "DANNON", 100)
    before = await api.snapshot()
    response = await api.client.post("/points/spend", json=body, headers=alice)
    api.problem(response, 422)
    assert await api.snapshot() == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/json"),
        (b'{"payer": ', "application/json"),
        (b"payer=DANNON&points=5", "application/x-www-form-urlencoded"),
        (b"\xff\xfe not utf-8", "application/json"),
    ],
)
async def test_a_body_that_is_not_a_json_transaction_is_422(api, content, content_type) -> None:
    before = await api.snapshot()
    response = await api.client.post(
        "/points/transactions",
        content=content,
        headers={**api.caller(), "content-type": content_type},
    )
    api.problem(response, 422)
    assert await api.snapshot() == before


async def test_a_body_over_the_size_limit_is_413(api) -> None:
    response = await api.client.post(
        "/points/transactions", json=with_(payer="D" * 2_000_000), headers=api.caller()
    )
    api.problem(response, 413)
    assert await api.count("transactions") == 0


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"offset": "1000001"},
        {"sort": "points"},
    ],
)
async def test_bad_history_queries_are_422(api, params) -> None:
    for path in ("/points/transactions", "/points/spends"):
        response = await api.client.get(path, params=params, headers=api.caller())
        api.problem(response, 422)


async def test_identical_transactions_are_both_kept(api) -> None:
    """The original stored them under one key, so the second overwrote the first."""
    alice = api.caller()
    first = await api.add(alice, "DANNON", 100, "2020-10-31T10:00:00Z")
    second = await api.add(alice, "DANNON", 100, "2020-10-31T10:00:00Z")
    assert first.json()["id"] != second.json()["id"]
    assert await api.balance(alice) == {"DANNON": 200}


async def test_payer_names_are_trimmed_and_case_sensitive(api) -> None:
    alice = api.caller()
    await api.add(alice, " DANNON ", 100)
    await api.add(alice, "Dannon", 5)
    await api.add(alice, "x" * 100, 1)
    assert await api.balance(alice) == {"DANNON": 100, "Dannon": 5, "x" * 100: 1}
