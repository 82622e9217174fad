"""ledger: accounts, payers, transactions (credits keep what is left), spends, idempotency keys

Reviewed by hand: one lock row per account, balances that cannot go negative, the partial index
that gives a spend its oldest unspent credits without reading the spent ones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The ledger's tables."""
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "account_id ~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$'", name="accounts_account_id_format"
        ),
        sa.PrimaryKeyConstraint("account_id"),
        schema="points",
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["account_id"], ["points.accounts.account_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "key"),
        schema="points",
    )
    op.create_index(
        "ix_idempotency_keys_created_at",
        "idempotency_keys",
        ["created_at"],
        unique=False,
        schema="points",
    )
    op.create_table(
        "payers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pending_debit", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("balance >= 0", name="payers_balance_not_negative"),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="payers_name_length"),
        sa.CheckConstraint("pending_debit >= 0", name="payers_pending_debit_not_negative"),
        sa.ForeignKeyConstraint(["account_id"], ["points.accounts.account_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name", name="payers_account_name_key"),
        schema="points",
    )
    op.create_table(
        "spends",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("points > 0", name="spends_points_positive"),
        sa.ForeignKeyConstraint(["account_id"], ["points.accounts.account_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        schema="points",
    )
    op.create_index(
        "ix_spends_history",
        "spends",
        ["account_id", sa.literal_column("id DESC")],
        unique=False,
        schema="points",
    )
    op.create_table(
        "spend_parts",
        sa.Column("spend_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("points > 0", name="spend_parts_points_positive"),
        sa.ForeignKeyConstraint(["payer_id"], ["points.payers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["spend_id"], ["points.spends.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("spend_id", "position"),
        schema="points",
    )
    op.create_index(
        "ix_spend_parts_payer", "spend_parts", ["payer_id"], unique=False, schema="points"
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("payer_id", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("points <> 0", name="transactions_points_not_zero"),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= greatest(points, 0)",
            name="transactions_remaining_within_points",
        ),
        sa.ForeignKeyConstraint(["account_id"], ["points.accounts.account_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["payer_id"], ["points.payers.id"], name="transactions_payer_fk", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="points",
    )
    op.create_index(
        "ix_transactions_history",
        "transactions",
        ["account_id", sa.literal_column("timestamp DESC"), sa.literal_column("id DESC")],
        unique=False,
        schema="points",
    )
    op.create_index(
        "ix_transactions_payer", "transactions", ["payer_id"], unique=False, schema="points"
    )
    op.create_index(
        "ix_transactions_unspent",
        "transactions",
        ["account_id", "timestamp", "id"],
        unique=False,
        schema="points",
        postgresql_where=sa.text("remaining > 0"),
    )


def downgrade() -> None:
    """Drops the ledger's tables and everything in them."""
    op.drop_index(
        "ix_transactions_unspent",
        table_name="transactions",
        schema="points",
        postgresql_where=sa.text("remaining > 0"),
    )
    op.drop_index("ix_transactions_payer", table_name="transactions", schema="points")
    op.drop_index("ix_transactions_history", table_name="transactions", schema="points")
    op.drop_table("transactions", schema="points")
    op.drop_index("ix_spend_parts_payer", table_name="spend_parts", schema="points")
    op.drop_table("spend_parts", schema="points")
    op.drop_index("ix_spends_history", table_name="spends", schema="points")
    op.drop_table("spends", schema="points")
    op.drop_table("payers", schema="points")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys", schema="points")
    op.drop_table("idempotency_keys", schema="points")
    op.drop_table("accounts", schema="points")
