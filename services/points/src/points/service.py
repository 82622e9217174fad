"""The ledger's rules: credits and take-backs, spending the oldest points first, who sees which
ledger, and Idempotency-Keys. No FastAPI here."""

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.auth import Principal
from common.errors import Conflict, Forbidden, NotFound, Unprocessable
from common.sql import Transaction
from points.models import ACCOUNT_ID_PATTERN
from points.repository import (
    FIRST_LOT_BATCH,
    LARGEST_LOT_BATCH,
    LedgerRepository,
    Lot,
    PayerChange,
    RememberedResponse,
    SpendRow,
    TransactionRow,
)

READ_AND_WRITE_ANY = ("admin", "service")
DELETE_ANY = ("admin",)
NO_SUCH_LEDGER = "No such ledger, or not the caller's to see"


def own_account(caller: Principal) -> str:
    """The caller's own ledger: the token's subject."""
    if not re.match(ACCOUNT_ID_PATTERN, caller.subject):
        raise Forbidden("This token's subject cannot hold a ledger")
    return caller.subject


def visible_account(caller: Principal, account_id: str, *, any_of: Sequence[str]) -> str:
    """``account_id`` when the caller holds it or any of the roles ``any_of``; NotFound else."""
    if caller.subject == account_id or caller.has_any_role(*any_of):
        return account_id
    raise NotFound(NO_SUCH_LEDGER)


@dataclass(frozen=True)
class PayerPoints:
    payer: str
    points: int


@dataclass
class SpendPlan:
    """What a spend takes from the credits it walks, oldest first.

    A payer's pending debit (negative transactions not yet taken from its credits) comes out of
    that payer's oldest credit before anything is spent from it.
    """

    needed: int
    pending: dict[int, int]
    lots: list[tuple[int, int]] = field(default_factory=list)
    """(transaction id, points left) of every credit walked."""
    spent: dict[int, int] = field(default_factory=dict)
    """payer id -> points spent, in spending order."""
    settled: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    names: dict[int, str] = field(default_factory=dict)

    def take_from(self, lot: Lot) -> None:
        left = lot.remaining
        owed = min(self.pending.get(lot.payer_id, 0), left)
        if owed:
            self.pending[lot.payer_id] -= owed
            self.settled[lot.payer_id] += owed
            left -= owed
        taken = min(self.needed, left)
        if taken:
            self.spent[lot.payer_id] = self.spent.get(lot.payer_id, 0) + taken
            self.names[lot.payer_id] = lot.payer
            self.needed -= taken
            left -= taken
        self.lots.append((lot.id, left))

    def payer_changes(self) -> list[PayerChange]:
        payers = self.spent.keys() | self.settled.keys()
        return [
            PayerChange(payer, self.spent.get(payer, 0), self.settled.get(payer, 0))
            for payer in sorted(payers)
        ]

    def parts(self) -> list[tuple[int, int]]:
        return list(self.spent.items())

    def breakdown(self) -> list[PayerPoints]:
        return [PayerPoints(self.names[payer], -taken) for payer, taken in self.spent.items()]


class Ledger:
    """One account's points: transactions, spends, balances and history."""

    def __init__(self, transaction: Transaction) -> None:
        self.repository = LedgerRepository(transaction)

    async def add(
        self, account_id: str, payer: str, points: int, timestamp: datetime
    ) -> TransactionRow:
        """Record a transaction; a negative one only when the payer has that many points left."""
        await self.repository.create_and_lock_account(account_id)
        if points > 0:
            return await self.repository.add_credit(account_id, payer, points, timestamp)
        stored = await self.repository.add_debit(account_id, payer, -points, timestamp)
        if stored is None:
            balance = await self.repository.balance_of(account_id, payer)
            raise Conflict(
                f"The payer has {balance} points; taking back {-points} would leave it below zero",
                extra={"available": balance},
            )
        return stored

    async def spend(self, account_id: str, points: int) -> list[PayerPoints]:
        """Spend ``points``, oldest first by timestamp; Conflict when the account has fewer."""
        exists = await self.repository.lock_account(account_id)
        payers = await self.repository.payers(account_id) if exists else []
        available = sum(payer.balance for payer in payers)
        if points > available:
            raise Conflict(f"Only {available} points are available", extra={"available": available})
        owed = {payer.id: payer.pending_debit for payer in payers if payer.pending_debit}
        plan = await self._walk(account_id, SpendPlan(points, owed))
        await self.repository.record_spend(
            account_id, points, plan.lots, plan.payer_changes(), plan.parts()
        )
        return plan.breakdown()

    async def _walk(self, account_id: str, plan: SpendPlan) -> SpendPlan:
        """Walk the unspent credits oldest first, in growing batches, until the plan is met."""
        after, batch = None, FIRST_LOT_BATCH
        while plan.needed:
            lots = await self.repository.unspent_lots(account_id, after=after, limit=batch)
            if not lots:
                raise RuntimeError("the payers' balances promise more than their credits hold")
            for lot in lots:
                plan.take_from(lot)
                if not plan.needed:
                    break
            after, batch = lots[-1], min(batch * 4, LARGEST_LOT_BATCH)
        return plan

    async def balance(self, account_id: str) -> dict[str, int]:
        """Every payer the account has seen, zero balances included."""
        return dict(await self.repository.balances(account_id))

    async def transactions(
        self, account_id: str, *, limit: int, offset: int
    ) -> tuple[list[TransactionRow], int]:
        return await self.repository.transactions_page(account_id, limit=limit, offset=offset)

    async def spends(
        self, account_id: str, *, limit: int, offset: int
    ) -> tuple[list[SpendRow], int]:
        return await self.repository.spends_page(account_id, limit=limit, offset=offset)

    async def delete(self, account_id: str) -> None:
        """Delete the ledger with everything in it; NotFound when there is none."""
        if not await self.repository.lock_account(account_id):
            raise NotFound(NO_SUCH_LEDGER)
        await self.repository.delete_account(account_id)


def request_fingerprint(operation: str, body: Mapping[str, Any]) -> str:
    """What makes two requests under one Idempotency-Key the same request."""
    canonical = json.dumps([operation, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotentRequests:
    """Idempotency-Keys per account (IETF httpapi draft): a successful response is remembered
    with the request's fingerprint, in the same transaction as its effect, and replayed to a
    retry; a failed request leaves nothing behind, so its key can be used again."""

    def __init__(self, transaction: Transaction, *, ttl_seconds: int) -> None:
        self.repository = LedgerRepository(transaction)
        self.ttl_seconds = ttl_seconds

    async def claim(self, account_id: str, key: str, fingerprint: str) -> RememberedResponse | None:
        """Hold the key until the transaction ends; the response remembered for a retry of the
        same request, None for a new one. Conflict while another request holds the key,
        Unprocessable when it was used for a different request."""
        if not await self.repository.try_lock_key(account_id, key):
            raise Conflict("A request with this Idempotency-Key is still in progress")
        remembered = await self.repository.remembered(
            account_id, key, younger_than_seconds=self.ttl_seconds
        )
        if remembered and remembered.fingerprint != fingerprint:
            raise Unprocessable("This Idempotency-Key was used for a different request")
        return remembered

    async def remember(self, account_id: str, key: str, response: RememberedResponse) -> None:
        """Store the response of a claimed key, in the transaction of the request's effect."""
        await self.repository.remember(account_id, key, response)

    async def forget_expired(self) -> int:
        """Delete keys older than their time to live; how many."""
        return await self.repository.forget_keys_older_than(self.ttl_seconds)
