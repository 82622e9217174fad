"""Random sequences of requests against the service and against a small in-memory model of
the rules; every response must agree."""

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TIMESTAMPS = [f"2021-03-0{day}T12:00:00Z" for day in range(1, 6)]  # few, so ties happen
PAYERS = ["DANNON", "UNILEVER", "MILLER COORS"]


@dataclass
class Credit:
    timestamp: str
    arrival: int
    payer: str
    remaining: int


@dataclass
class ReferenceLedger:
    """The rules in plain Python: credits spent oldest first, take-backs owed by the payer and
    taken from its oldest credits when a spend reaches them, no payer below zero."""

    credits: list[Credit] = field(default_factory=list)
    balance: dict[str, int] = field(default_factory=dict)
    owed: dict[str, int] = field(default_factory=dict)
    arrivals: "itertools.count[int]" = field(default_factory=itertools.count)

    def add(self, payer: str, points: int, timestamp: str) -> tuple[int, Any]:
        if points < 0 and self.balance.get(payer, 0) < -points:
            return 409, self.balance.get(payer, 0)
        self.balance[payer] = self.balance.get(payer, 0) + points
        if points > 0:
            self.credits.append(Credit(timestamp, next(self.arrivals), payer, points))
        else:
            self.owed[payer] = self.owed.get(payer, 0) - points
        return 201, {"payer": payer, "points": points}

    def spend(self, points: int) -> tuple[int, Any]:
        available = sum(self.balance.values())
        if points > available:
            return 409, available
        needed, taken = points, {}
        for credit in sorted(self.credits, key=lambda c: (c.timestamp, c.arrival)):
            if not needed:
                break
            settled = min(self.owed.get(credit.payer, 0), credit.remaining)
            credit.remaining -= settled
            self.owed[credit.payer] = self.owed.get(credit.payer, 0) - settled
            take = min(needed, credit.remaining)
            if take:
                credit.remaining -= take
                needed -= take
                taken[credit.payer] = taken.get(credit.payer, 0) + take
                self.balance[credit.payer] -= take
        return 200, [{"payer": payer, "points": -points} for payer, points in taken.items()]


adds = st.tuples(
    st.just("add"),
    st.sampled_from(PAYERS),
    st.one_of(st.integers(-60, -1), st.integers(1, 120), st.integers(1, 120)),
    st.sampled_from(TIMESTAMPS),
)
spends = st.tuples(st.just("spend"), st.integers(1, 200))


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(st.one_of(adds, adds, spends), min_size=1, max_size=15))
async def test_the_service_answers_as_the_reference_model(api, operations) -> None:
    account = f"model-{uuid.uuid4().hex[:12]}"  # a fresh ledger per example
    headers = api.caller(account)
    model = ReferenceLedger()
    for operation in operations:
        if operation[0] == "add":
            _, payer, points, timestamp = operation
            expected_status, expected = model.add(payer, points, timestamp)
            response = await api.add(headers, payer, points, timestamp)
        else:
            expected_status, expected = model.spend(operation[1])
            response = await api.spend(headers, operation[1])
        assert response.status_code == expected_status, (operation, response.text)
        if expected_status == 409:
            assert response.json()["available"] == expected
        elif operation[0] == "add":
            assert {key: response.json()[key] for key in ("payer", "points")} == expected
        else:
            assert response.json() == expected
        balance = await api.balance(headers)
        assert list(balance.items()) == list(model.balance.items())
