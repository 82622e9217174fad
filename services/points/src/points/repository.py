"""All SQL of the points ledger, sent straight to the driver (``common.sql``).

Every change to a ledger first locks its account's row (``lock_account``), so the statements
after it see a ledger no other transaction is changing; the CHECK constraints of ``models`` are
the second line of defence.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.pagination import paginate_sql
from common.sql import Sql, Transaction

_LOTS = (
    "SELECT t.id, t.payer_id, p.name AS payer, t.timestamp, t.remaining "
    "FROM transactions t JOIN payers p ON p.id = t.payer_id "
    "WHERE t.account_id = :account_id AND t.remaining > 0 {keyset}"
    "ORDER BY t.timestamp, t.id LIMIT :limit FOR UPDATE OF t"
)
_FIRST_LOTS = Sql.of(_LOTS.format(keyset=""))
_NEXT_LOTS = Sql.of(_LOTS.format(keyset="AND (t.timestamp, t.id) > (:after_timestamp, :after_id) "))
_ADD_CREDIT = Sql.of(
    "WITH payer AS ("
    "  INSERT INTO payers (account_id, name, balance) VALUES (:account_id, :payer, :points)"
    "  ON CONFLICT ON CONSTRAINT payers_account_name_key"
    "  DO UPDATE SET balance = payers.balance + EXCLUDED.balance RETURNING id"
    ") "
    "INSERT INTO transactions (account_id, payer_id, points, timestamp, remaining) "
    "SELECT :account_id, payer.id, :points, :timestamp, :points FROM payer "
    "RETURNING id, CAST(:payer AS text) AS payer, points, timestamp, created_at"
)
_ADD_DEBIT = Sql.of(
    "WITH payer AS ("
    "  UPDATE payers SET balance = balance - :points, pending_debit = pending_debit + :points"
    "  WHERE account_id = :account_id AND name = :payer AND balance >= :points RETURNING id"
    ") "
    "INSERT INTO transactions (account_id, payer_id, points, timestamp, remaining) "
    "SELECT :account_id, payer.id, -CAST(:points AS bigint), :timestamp, 0 FROM payer "
    "RETURNING id, CAST(:payer AS text) AS payer, points, timestamp, created_at"
)
_RECORD_SPEND = Sql.of(
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
_CREATE_AND_LOCK_ACCOUNT = Sql.of(
    "INSERT INTO accounts (account_id) VALUES (:account_id) "
    "ON CONFLICT (account_id) DO UPDATE SET account_id = excluded.account_id WHERE false"
)
_LOCK_ACCOUNT = Sql.of("SELECT 1 FROM accounts WHERE account_id = :account_id FOR UPDATE")
_BALANCE_OF = Sql.of("SELECT balance FROM payers WHERE account_id = :account_id AND name = :payer")
_PAYERS = Sql.of("SELECT id, balance, pending_debit FROM payers WHERE account_id = :account_id")
_BALANCES = Sql.of("SELECT name, balance FROM payers WHERE account_id = :account_id ORDER BY id")
# The payer's name in a subquery, not a join, and each spend's parts as two arrays in
# subqueries: the count reads the account's own rows alone.
_TRANSACTIONS_PAGE = Sql.of(
    "SELECT t.id, (SELECT p.name FROM payers p WHERE p.id = t.payer_id) AS payer, t.points, "
    "t.timestamp, t.created_at FROM transactions t WHERE t.account_id = :account_id "
    "ORDER BY t.timestamp DESC, t.id DESC LIMIT :limit OFFSET :offset"
)
_TRANSACTIONS_COUNT = Sql.of("SELECT count(*) FROM transactions WHERE account_id = :account_id")
_SPENDS_PAGE = Sql.of(
    "SELECT s.id, s.points, s.created_at, "
    "ARRAY(SELECT p.name FROM spend_parts sp JOIN payers p ON p.id = sp.payer_id "
    "  WHERE sp.spend_id = s.id ORDER BY sp.position) AS payers, "
    "ARRAY(SELECT sp.points FROM spend_parts sp WHERE sp.spend_id = s.id ORDER BY sp.position) "
    "  AS taken "
    "FROM spends s WHERE s.account_id = :account_id ORDER BY s.id DESC LIMIT :limit OFFSET :offset"
)
_SPENDS_COUNT = Sql.of("SELECT count(*) FROM spends WHERE account_id = :account_id")
_DELETE_ACCOUNT = Sql.of("DELETE FROM accounts WHERE account_id = :account_id")
_TRY_LOCK_KEY = Sql.of(
    "SELECT pg_try_advisory_xact_lock(hashtextextended(:account_id || ' ' || :key, 0))"
)
_REMEMBERED = Sql.of(
    "SELECT fingerprint, status_code, body FROM idempotency_keys "
    "WHERE account_id = :account_id AND key = :key "
    "AND created_at > now() - make_interval(secs => :seconds)"
)
_REMEMBER = Sql.of(
    "INSERT INTO idempotency_keys (account_id, key, fingerprint, status_code, body) "
    "VALUES (:account_id, :key, :fingerprint, :status_code, :body) "
    "ON CONFLICT (account_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, "
    "status_code = excluded.status_code, body = excluded.body, created_at = now()"
)
_FORGET_KEYS = Sql.of(
    "DELETE FROM idempotency_keys WHERE created_at <= now() - make_interval(secs => :seconds)"
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


@dataclass(frozen=True)
class RememberedResponse:
    fingerprint: str
    status_code: int
    body: Any


class LedgerRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def create_and_lock_account(self, account_id: str) -> None:
        """Create the account unless it exists, and lock its row until the transaction ends.

        One statement: ON CONFLICT DO UPDATE locks the existing row even though its
        ``WHERE false`` leaves it unchanged (no new row version is written).
        """
        await self.transaction.execute(_CREATE_AND_LOCK_ACCOUNT, account_id=account_id)

    async def lock_account(self, account_id: str) -> bool:
        """Lock the account's row until the transaction ends; False when there is none."""
        return await self.transaction.fetchrow(_LOCK_ACCOUNT, account_id=account_id) is not None

    async def add_credit(
        self, account_id: str, payer: str, points: int, timestamp: datetime
    ) -> TransactionRow:
        """Store a credit and add it to the payer's balance (creating the payer)."""
        row = await self.transaction.fetchone(
            _ADD_CREDIT, account_id=account_id, payer=payer, points=points, timestamp=timestamp
        )
        return TransactionRow(**row)

    async def add_debit(
        self, account_id: str, payer: str, points: int, timestamp: datetime
    ) -> TransactionRow | None:
        """Store a take-back of ``points`` (> 0): the payer's balance drops now, its credits
        owe them until a spend reaches them. None, and nothing changed, when the balance is
        smaller."""
        row = await self.transaction.fetchrow(
            _ADD_DEBIT, account_id=account_id, payer=payer, points=points, timestamp=timestamp
        )
        return TransactionRow(**row) if row else None

    async def balance_of(self, account_id: str, payer: str) -> int:
        balance = await self.transaction.fetchval(_BALANCE_OF, account_id=account_id, payer=payer)
        return int(balance or 0)

    async def payers(self, account_id: str) -> list[PayerState]:
        rows = await self.transaction.fetch(_PAYERS, account_id=account_id)
        return [PayerState(**row) for row in rows]

    async def unspent_lots(self, account_id: str, *, after: Lot | None, limit: int) -> list[Lot]:
        """The next ``limit`` credits with points left, oldest timestamp first (arrival breaks
        ties), after ``after``; read through the partial index, locked for update."""
        if after is None:
            rows = await self.transaction.fetch(_FIRST_LOTS, account_id=account_id, limit=limit)
        else:
            rows = await self.transaction.fetch(
                _NEXT_LOTS,
                account_id=account_id,
                limit=limit,
                after_timestamp=after.timestamp,
                after_id=after.id,
            )
        return [Lot(**row) for row in rows]

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
        await self.transaction.execute(
            _RECORD_SPEND,
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

    async def balances(self, account_id: str) -> list[tuple[str, int]]:
        """Every payer of the account with its balance, in the order they first appeared."""
        rows = await self.transaction.fetch(_BALANCES, account_id=account_id)
        return [(row["name"], row["balance"]) for row in rows]

    async def transactions_page(
        self, account_id: str, *, limit: int, offset: int
    ) -> tuple[list[TransactionRow], int]:
        """One page of transactions, newest timestamp first, and how many there are in all."""
        rows, total = await paginate_sql(
            self.transaction,
            _TRANSACTIONS_PAGE,
            _TRANSACTIONS_COUNT,
            limit=limit,
            offset=offset,
            account_id=account_id,
        )
        return [TransactionRow(**row) for row in rows], total

    async def spends_page(
        self, account_id: str, *, limit: int, offset: int
    ) -> tuple[list[SpendRow], int]:
        """One page of spends, newest first, each with its parts in spending order."""
        rows, total = await paginate_sql(
            self.transaction,
            _SPENDS_PAGE,
            _SPENDS_COUNT,
            limit=limit,
            offset=offset,
            account_id=account_id,
        )
        return [
            SpendRow(
                row["id"],
                row["points"],
                row["created_at"],
                list(zip(row["payers"], row["taken"], strict=True)),
            )
            for row in rows
        ], total

    async def delete_account(self, account_id: str) -> None:
        """Delete the account; its payers, transactions, spends and keys go with it."""
        await self.transaction.execute(_DELETE_ACCOUNT, account_id=account_id)

    async def try_lock_key(self, account_id: str, key: str) -> bool:
        """Hold the account's Idempotency-Key until the transaction ends; False when another
        transaction holds it (a request with this key is in flight)."""
        return bool(await self.transaction.fetchval(_TRY_LOCK_KEY, account_id=account_id, key=key))

    async def remembered(
        self, account_id: str, key: str, *, younger_than_seconds: int
    ) -> RememberedResponse | None:
        row = await self.transaction.fetchrow(
            _REMEMBERED, account_id=account_id, key=key, seconds=younger_than_seconds
        )
        return RememberedResponse(**row) if row else None

    async def remember(self, account_id: str, key: str, response: RememberedResponse) -> None:
        """Store the response (replacing an expired one under the same key)."""
        await self.transaction.execute(
            _REMEMBER,
            account_id=account_id,
            key=key,
            fingerprint=response.fingerprint,
            status_code=response.status_code,
            body=response.body,
        )

    async def forget_keys_older_than(self, seconds: int) -> int:
        status = await self.transaction.execute(_FORGET_KEYS, seconds=seconds)
        return int(status.split()[-1])
