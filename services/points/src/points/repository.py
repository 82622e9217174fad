"""All SQL of the points ledger.

Every change to a ledger first locks its account's row (``lock_account``), so the statements
after it see a ledger no other transaction is changing; the CHECK constraints of ``models`` are
the second line of defence.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Executable, Interval, Result, false, literal, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.database import core_execute
from common.pagination import paginate
from points.models import (
    Account,
    IdempotencyKey,
    LedgerTransaction,
    Payer,
    Spend,
    SpendPart,
)

_LOTS = (
    "SELECT t.id, t.payer_id, p.name AS payer, t.timestamp, t.remaining "
    "FROM transactions t JOIN payers p ON p.id = t.payer_id "
    "WHERE t.account_id = :account_id AND t.remaining > 0 {keyset}"
    "ORDER BY t.timestamp, t.id LIMIT :limit FOR UPDATE OF t"
)
_FIRST_LOTS = text(_LOTS.format(keyset=""))
_NEXT_LOTS = text(_LOTS.format(keyset="AND (t.timestamp, t.id) > (:after_timestamp, :after_id) "))
_ADD_CREDIT = text(
    "WITH payer AS ("
    "  INSERT INTO payers (account_id, name, balance) VALUES (:account_id, :payer, :points)"
    "  ON CONFLICT ON CONSTRAINT payers_account_name_key"
    "  DO UPDATE SET balance = payers.balance + EXCLUDED.balance RETURNING id"
    ") "
    "INSERT INTO transactions (account_id, payer_id, points, timestamp, remaining) "
    "SELECT :account_id, payer.id, :points, :timestamp, :points FROM payer "
    "RETURNING id, CAST(:payer AS text) AS payer, points, timestamp, created_at"
)
_ADD_DEBIT = text(
    "WITH payer AS ("
    "  UPDATE payers SET balance = balance - :points, pending_debit = pending_debit + :points"
    "  WHERE account_id = :account_id AND name = :payer AND balance >= :points RETURNING id"
    ") "
    "INSERT INTO transactions (account_id, payer_id, points, timestamp, remaining) "
    "SELECT :account_id, payer.id, -CAST(:points AS bigint), :timestamp, 0 FROM payer "
    "RETURNING id, CAST(:payer AS text) AS payer, points, timestamp, created_at"
)
_RECORD_SPEND = text(
    "WITH walked AS ("
    "  UPDATE transactions t SET remaining = v.remaining"
    "  FROM unnest(CAST(:lot_ids AS bigint[]), CAST(:lot_remaining AS bigint[]))"
    "    AS v(id, remaining)"
    "  WHERE t.id = v.id"
    "), changed AS ("
    "  UPDATE payers p SET balance = p.balance - v.spent,"
    "    pending_debit = p.pending_debit - v.settled"
    "  FROM unnest(CAST(:payer_ids AS bigint[]), CAST(:spent AS bigint[]),"
    "    CAST(:settled AS bigint[])) AS v(id, spent, settled)"
    "  WHERE p.id = v.id"
    "), spend AS ("
    "  INSERT INTO spends (account_id, points) VALUES (:account_id, :points) RETURNING id"
    ") "
    "INSERT INTO spend_parts (spend_id, position, payer_id, points) "
    "SELECT spend.id, CAST(part.position - 1 AS integer), part.payer_id, part.points "
    "FROM spend, unnest(CAST(:part_payers AS bigint[]), CAST(:part_points AS bigint[])) "
    "  WITH ORDINALITY AS part(payer_id, points, position)"
)
FIRST_LOT_BATCH = 32
LARGEST_LOT_BATCH = 4096


@dataclass(frozen=True)
class TransactionRow:
    id: int
    payer: str
    points: int
    timestamp: datetime
    created_at: datetime


def transaction_row(transaction: LedgerTransaction, payer: str) -> TransactionRow:
    assert transaction.id is not None
    return TransactionRow(
        transaction.id, payer, transaction.points, transaction.timestamp, transaction.created_at
    )


@dataclass(frozen=True)
class Lot:
    """A credit with points left, as a spend sees it."""

    id: int
    payer_id: int
    payer: str
    timestamp: datetime
    remaining: int


@dataclass(frozen=True)
class PayerState:
    id: int
    balance: int
    pending_debit: int


@dataclass(frozen=True)
class PayerChange:
    """What a spend does to one payer: points spent, and pending debits taken from credits."""

    payer_id: int
    spent: int
    settled: int


@dataclass(frozen=True)
class SpendRow:
    id: int
    points: int
    created_at: datetime
    breakdown: list[tuple[str, int]]


def spend_row(spend: Spend, payers: list[str], taken: list[int]) -> SpendRow:
    assert spend.id is not None
    return SpendRow(spend.id, spend.points, spend.created_at, list(zip(payers, taken, strict=True)))


@dataclass(frozen=True)
class RememberedResponse:
    fingerprint: str
    status_code: int
    body: Any


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _sql(self, statement: Executable) -> Result[Any]:
        """Run a statement on the session's connection (and transaction), past the ORM."""
        return await core_execute(self.session, statement)

    async def create_and_lock_account(self, account_id: str) -> None:
        """Create the account unless it exists, and lock its row until the transaction ends.

        One statement: ON CONFLICT DO UPDATE locks the existing row even though its
        ``WHERE false`` leaves it unchanged (no new row version is written).
        """
        new = insert(Account).values(account_id=account_id)
        await self._sql(
            new.on_conflict_do_update(
                index_elements=[col(Account.account_id)],
                set_={"account_id": new.excluded.account_id},
                where=false(),
            )
        )

    async def lock_account(self, account_id: str) -> bool:
        """Lock the account's row until the transaction ends; False when there is none."""
        found = await self._sql(
            select(Account.account_id).where(Account.account_id == account_id).with_for_update()
        )
        return found.first() is not None

    async def add_credit(
        self, account_id: str, payer: str, points: int, timestamp: datetime
    ) -> TransactionRow:
        """Store a credit and add it to the payer's balance (creating the payer)."""
        rows = await self._sql(
            _ADD_CREDIT.bindparams(
                account_id=account_id, payer=payer, points=points, timestamp=timestamp
            )
        )
        return TransactionRow(**rows.one()._mapping)

    async def add_debit(
        self, account_id: str, payer: str, points: int, timestamp: datetime
    ) -> TransactionRow | None:
        """Store a take-back of ``points`` (> 0): the payer's balance drops now, its credits
        owe them until a spend reaches them. None, and nothing changed, when the balance is
        smaller."""
        rows = await self._sql(
            _ADD_DEBIT.bindparams(
                account_id=account_id, payer=payer, points=points, timestamp=timestamp
            )
        )
        row = rows.one_or_none()
        return TransactionRow(**row._mapping) if row else None

    async def balance_of(self, account_id: str, payer: str) -> int:
        found = await self.session.exec(
            select(Payer.balance).where(Payer.account_id == account_id, Payer.name == payer)
        )
        return found.first() or 0

    async def payers(self, account_id: str) -> list[PayerState]:
        rows = await self._sql(
            text(
                "SELECT id, balance, pending_debit FROM payers WHERE account_id = :account_id"
            ).bindparams(account_id=account_id)
        )
        return [PayerState(**row._mapping) for row in rows.all()]

    async def unspent_lots(self, account_id: str, *, after: Lot | None, limit: int) -> list[Lot]:
        """The next ``limit`` credits with points left, oldest timestamp first (arrival breaks
        ties), after ``after``; read through the partial index, locked for update."""
        statement = (_NEXT_LOTS if after else _FIRST_LOTS).bindparams(
            account_id=account_id, limit=limit
        )
        if after:
            statement = statement.bindparams(after_timestamp=after.timestamp, after_id=after.id)
        rows = await self._sql(statement)
        return [Lot(**row._mapping) for row in rows.all()]

    async def record_spend(
        self,
        account_id: str,
        points: int,
        lots: Sequence[tuple[int, int]],
        changes: Sequence[PayerChange],
        parts: Sequence[tuple[int, int]],
    ) -> None:
        """In one statement: each credit walked gets its points left (transaction id, points
        left), each payer its change, and the spend is recorded with what it took from each
        payer (payer id, points), in spending order."""
        await self._sql(
            _RECORD_SPEND.bindparams(
                account_id=account_id,
                points=points,
                lot_ids=[lot for lot, _ in lots],
                lot_remaining=[left for _, left in lots],
                payer_ids=[change.payer_id for change in changes],
                spent=[change.spent for change in changes],
                settled=[change.settled for change in changes],
                part_payers=[payer for payer, _ in parts],
                part_points=[taken for _, taken in parts],
            )
        )

    async def balances(self, account_id: str) -> list[tuple[str, int]]:
        """Every payer of the account with its balance, in the order they first appeared."""
        rows = await self._sql(
            select(Payer.name, Payer.balance)
            .where(Payer.account_id == account_id)
            .order_by(col(Payer.id))
        )
        return [(row.name, row.balance) for row in rows.all()]

    async def transactions_page(
        self, account_id: str, *, limit: int, offset: int
    ) -> tuple[list[TransactionRow], int]:
        """One page of transactions, newest timestamp first, and how many there are in all."""
        # The payer's name in a subquery, not a join: the count leaves it out and so counts the
        # account's transactions alone.
        payer = select(Payer.name).where(col(Payer.id) == col(LedgerTransaction.payer_id))
        statement = (
            select(LedgerTransaction, payer.scalar_subquery())
            .where(col(LedgerTransaction.account_id) == account_id)
            .order_by(col(LedgerTransaction.timestamp).desc(), col(LedgerTransaction.id).desc())
        )
        rows, total = await paginate(self.session, statement, limit=limit, offset=offset)
        return [transaction_row(transaction, name) for transaction, name in rows], total

    async def spends_page(
        self, account_id: str, *, limit: int, offset: int
    ) -> tuple[list[SpendRow], int]:
        """One page of spends, newest first, each with its parts in spending order."""
        # Each spend's parts as two arrays in subqueries: the count leaves them out.
        of_spend = col(SpendPart.spend_id) == col(Spend.id)
        in_order = col(SpendPart.position)
        payers = (
            select(Payer.name)
            .join(SpendPart, col(SpendPart.payer_id) == col(Payer.id))
            .where(of_spend)
            .order_by(in_order)
        )
        taken = select(SpendPart.points).where(of_spend).order_by(in_order)
        statement = (
            select(Spend, func.array(payers.scalar_subquery()), func.array(taken.scalar_subquery()))
            .where(col(Spend.account_id) == account_id)
            .order_by(col(Spend.id).desc())
        )
        rows, total = await paginate(self.session, statement, limit=limit, offset=offset)
        return [spend_row(spend, names, points) for spend, names, points in rows], total

    async def delete_account(self, account_id: str) -> None:
        """Delete the account; its payers, transactions, spends and keys go with it."""
        await self.session.exec(delete(Account).where(col(Account.account_id) == account_id))

    async def try_lock_key(self, account_id: str, key: str) -> bool:
        """Hold the account's Idempotency-Key until the transaction ends; False when another
        transaction holds it (a request with this key is in flight)."""
        result = await self._sql(
            text(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(:account_id || ' ' || :key, 0))"
            ).bindparams(account_id=account_id, key=key)
        )
        return bool(result.scalar_one())

    async def remembered(
        self, account_id: str, key: str, *, younger_than_seconds: int
    ) -> RememberedResponse | None:
        rows = await self.session.exec(
            select(IdempotencyKey.fingerprint, IdempotencyKey.status_code, IdempotencyKey.body)
            .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
            .where(col(IdempotencyKey.created_at) > _seconds_ago(younger_than_seconds))
        )
        row = rows.first()
        return RememberedResponse(*row) if row else None

    async def remember(self, account_id: str, key: str, response: RememberedResponse) -> None:
        """Store the response (replacing an expired one under the same key)."""
        values = {
            "fingerprint": response.fingerprint,
            "status_code": response.status_code,
            "body": response.body,
        }
        await self.session.exec(
            insert(IdempotencyKey)
            .values(account_id=account_id, key=key, **values)
            .on_conflict_do_update(
                index_elements=["account_id", "key"], set_={**values, "created_at": func.now()}
            )
        )

    async def forget_keys_older_than(self, seconds: int) -> int:
        result = await self.session.exec(
            delete(IdempotencyKey).where(col(IdempotencyKey.created_at) <= _seconds_ago(seconds))
        )
        return int(result.rowcount)


def _seconds_ago(seconds: int) -> Any:
    return func.now() - literal(timedelta(seconds=seconds), Interval)
