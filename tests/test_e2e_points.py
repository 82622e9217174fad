"""The points journey through the real nginx: sign up and log in at customers, then the
exercise's example on the caller's own ledger."""

import uuid

import httpx
import pytest

from gateway.stack import Stack

pytestmark = pytest.mark.e2e

EXAMPLE = [
    {"payer": "DANNON", "points": 1000, "timestamp": "2020-11-02T14:00:00Z"},
    {"payer": "UNILEVER", "points": 200, "timestamp": "2020-10-31T11:00:00Z"},
    {"payer": "DANNON", "points": -200, "timestamp": "2020-10-31T15:00:00Z"},
    {"payer": "MILLER COORS", "points": 10000, "timestamp": "2020-11-01T14:00:00Z"},
    {"payer": "DANNON", "points": 300, "timestamp": "2020-10-31T10:00:00Z"},
]


@pytest.fixture(scope="module")
def http(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=10)


def signed_in(http: httpx.Client) -> tuple[str, dict[str, str]]:
    """A new customer's id and ``Authorization`` header, from customers through the gateway."""
    email = f"points-{uuid.uuid4().hex[:12]}@example.com"
    password = f"ledger-{uuid.uuid4().hex}"
    signup = http.post("/auth/signup", json={"email": email, "password": password})
    assert signup.status_code == 201, signup.text
    login = http.post("/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return signup.json()["customer_id"], {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_the_exercise_example_through_the_gateway(http: httpx.Client) -> None:
    _, headers = signed_in(http)
    for transaction in EXAMPLE:
        added = http.post("/points/addTransaction", json=transaction, headers=headers)
        assert added.status_code == 201, added.text
    spent = http.post("/points/spend", json={"points": 5000}, headers=headers)
    assert spent.json() == [
        {"payer": "DANNON", "points": -100},
        {"payer": "UNILEVER", "points": -200},
        {"payer": "MILLER COORS", "points": -4700},
    ]
    balance = http.get("/points/balance", headers=headers)
    assert balance.json() == {"DANNON": 1000, "UNILEVER": 0, "MILLER COORS": 5300}
    history = http.get("/points/transactions", params={"limit": 2}, headers=headers).json()
    assert (history["total"], len(history["items"])) == (5, 2)
    spends = http.get("/points/spends", headers=headers).json()
    assert spends["items"][0]["points"] == 5000


def test_an_idempotency_key_crosses_the_gateway(http: httpx.Client) -> None:
    _, headers = signed_in(http)
    keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    first = http.post("/points/transactions", json=EXAMPLE[0], headers=keyed)
    again = http.post("/points/transactions", json=EXAMPLE[0], headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert http.get("/points/balance", headers=headers).json() == {"DANNON": 1000}


def test_a_ledger_is_its_holders_alone_and_deleted_by_them(http: httpx.Client) -> None:
    alice_id, alice = signed_in(http)
    _, mallory = signed_in(http)
    http.post("/points/transactions", json=EXAMPLE[0], headers=alice)
    peek = http.get(f"/points/accounts/{alice_id}/balance", headers=mallory)
    assert peek.status_code == 404
    assert peek.headers["content-type"] == "application/problem+json"
    assert http.delete(f"/points/accounts/{alice_id}", headers=mallory).status_code == 404
    assert http.get(f"/points/accounts/{alice_id}/balance", headers=alice).json() == {
        "DANNON": 1000
    }
    assert http.delete(f"/points/accounts/{alice_id}", headers=alice).status_code == 204
    assert http.get("/points/balance", headers=alice).json() == {}


def test_overspending_through_the_gateway_is_a_409_problem(http: httpx.Client) -> None:
    _, headers = signed_in(http)
    http.post("/points/transactions", json=EXAMPLE[1], headers=headers)
    refused = http.post("/points/spend", json={"points": 201}, headers=headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["available"] == 200
    assert http.get("/points/balance", headers=headers).json() == {"UNILEVER": 200}
