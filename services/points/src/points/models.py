"""points's tables, all in schema "points".

An account's ledger: its payers (with their balance), its transactions (each credit keeps the
points it has left, indexed in timestamp order so a spend reads only the lots it consumes), its
spends with their per-payer parts, and the Idempotency-Keys it has used.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from common.models import created_at_field, schema_registry

SCHEMA = "points"

ACCOUNT_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
MAX_PAYER_LENGTH = 100


class Table(SQLModel, registry=schema_registry(SCHEMA)):
    """Base of points's table models: they land in schema "points" and nowhere else."""


metadata = Table.metadata


def _account_column(*, primary_key: bool = False) -> Any:
    return Field(
        sa_column=Column(
            Text,
            ForeignKey(f"{SCHEMA}.accounts.account_id", ondelete="CASCADE"),
            nullable=False,
            primary_key=primary_key,
        )
    )


class Account(Table, table=True):
    """One ledger; its row is the lock every change to the ledger takes first."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(f"account_id ~ '{ACCOUNT_ID_PATTERN}'", name="accounts_account_id_format"),
    )

    account_id: str = Field(sa_column=Column(Text, primary_key=True))
    created_at: datetime = created_at_field()


class Payer(Table, table=True):
    """A payer as one account knows it: ``balance`` is what it has left to spend.

    ``pending_debit`` holds negative transactions not yet taken from the payer's credits: a spend
    takes them from the payer's oldest credits first, so a credit arriving later with an older
    timestamp still pays for them, as if the transactions had arrived in timestamp order.
    """

    __tablename__ = "payers"
    __table_args__ = (
        UniqueConstraint("account_id", "name", name="payers_account_name_key"),
        CheckConstraint("balance >= 0", name="payers_balance_not_negative"),
        CheckConstraint("pending_debit >= 0", name="payers_pending_debit_not_negative"),
        CheckConstraint(
            f"char_length(name) BETWEEN 1 AND {MAX_PAYER_LENGTH}", name="payers_name_length"
        ),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    account_id: str = _account_column()
    name: str = Field(sa_column=Column(Text, nullable=False))
    balance: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    pending_debit: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    created_at: datetime = created_at_field()


class LedgerTransaction(Table, table=True):
    """A transaction as received; a credit's ``remaining`` is what spends have left of it."""

    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint("points <> 0", name="transactions_points_not_zero"),
        CheckConstraint(
            "remaining >= 0 AND remaining <= greatest(points, 0)",
            name="transactions_remaining_within_points",
        ),
        ForeignKeyConstraint(
            ["payer_id"], [f"{SCHEMA}.payers.id"], ondelete="CASCADE", name="transactions_payer_fk"
        ),
        # The spend order: oldest timestamp first, arrival breaking ties; spent lots leave it.
        Index(
            "ix_transactions_unspent",
            "account_id",
            "timestamp",
            "id",
            postgresql_where=text("remaining > 0"),
        ),
        Index("ix_transactions_history", "account_id", text("timestamp DESC"), text("id DESC")),
        Index("ix_transactions_payer", "payer_id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    account_id: str = _account_column()
    payer_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    points: int = Field(sa_column=Column(BigInteger, nullable=False))
    timestamp: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    remaining: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = created_at_field()


class Spend(Table, table=True):
    __tablename__ = "spends"
    __table_args__ = (
        CheckConstraint("points > 0", name="spends_points_positive"),
        Index("ix_spends_history", "account_id", text("id DESC")),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    account_id: str = _account_column()
    points: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = created_at_field()


class SpendPart(Table, table=True):
    """What one spend took from one payer; ``position`` is the spending order."""

    __tablename__ = "spend_parts"
    __table_args__ = (
        CheckConstraint("points > 0", name="spend_parts_points_positive"),
        Index("ix_spend_parts_payer", "payer_id"),
    )

    spend_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey(f"{SCHEMA}.spends.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    position: int = Field(sa_column=Column(Integer, primary_key=True))
    payer_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey(f"{SCHEMA}.payers.id", ondelete="CASCADE"), nullable=False
        )
    )
    points: int = Field(sa_column=Column(BigInteger, nullable=False))


class IdempotencyKey(Table, table=True):
    """A successful POST remembered by its Idempotency-Key, to be replayed on a retry."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    account_id: str = _account_column(primary_key=True)
    key: str = Field(sa_column=Column(Text, primary_key=True))
    fingerprint: str = Field(sa_column=Column(Text, nullable=False))
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    body: Any = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = created_at_field()
