"""identity: customers, credentials, refresh and reset tokens, login attempts, outbox

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

SCHEMA = "customers"
KNOWN_ROLES = "ARRAY['admin', 'customer', 'doctor', 'patient', 'provider', 'receptionist', 'service', 'staff', 'utility']::text[]"


def _now() -> sa.TextClause:
    return sa.text("now()")


def _customer_fk() -> sa.ForeignKeyConstraint:
    """Deleting a customer deletes everything hung off it."""
    return sa.ForeignKeyConstraint(
        ["customer_id"], ["customers.customers.customer_id"], ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("roles", sa.ARRAY(sa.Text()), server_default="{customer}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "customer_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'",
            name="customers_customer_id_format",
        ),
        sa.CheckConstraint("email = lower(email)", name="customers_email_normalized"),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name="customers_country_alpha2"),
        sa.CheckConstraint("language ~ '^[a-z]{2}$'", name="customers_language_alpha2"),
        sa.CheckConstraint(f"roles <@ {KNOWN_ROLES}", name="customers_roles_known"),
        sa.PrimaryKeyConstraint("customer_id"),
        sa.UniqueConstraint("email"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_customers_email_prefix",
        "customers",
        ["email"],
        schema=SCHEMA,
        postgresql_ops={"email": "text_pattern_ops"},
    )

    op.create_table(
        "credentials",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "password_hash LIKE '$argon2id$%'", name="credentials_password_hash_argon2id"
        ),
        _customer_fk(),
        sa.PrimaryKeyConstraint("customer_id"),
        schema=SCHEMA,
    )

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "token_hash ~ '^[0-9a-f]{64}$'", name="refresh_tokens_token_hash_sha256"
        ),
        _customer_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_customers_refresh_tokens_customer_id", "refresh_tokens", ["customer_id"], schema=SCHEMA
    )
    op.create_index(
        "ix_customers_refresh_tokens_family_id", "refresh_tokens", ["family_id"], schema=SCHEMA
    )

    op.create_table(
        "password_reset_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "token_hash ~ '^[0-9a-f]{64}$'", name="password_reset_tokens_token_hash_sha256"
        ),
        _customer_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_customers_password_reset_tokens_customer_id",
        "password_reset_tokens",
        ["customer_id"],
        schema=SCHEMA,
    )

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("client_address", sa.Text(), nullable=False),
        sa.Column(
            "attempted_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_login_attempts_email_attempted_at",
        "login_attempts",
        ["email", "attempted_at"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_login_attempts_client_address_attempted_at",
        "login_attempts",
        ["client_address", "attempted_at"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_login_attempts_attempted_at", "login_attempts", ["attempted_at"], schema=SCHEMA
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        _customer_fk(),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index("ix_customers_outbox_customer_id", "outbox", ["customer_id"], schema=SCHEMA)


def downgrade() -> None:
    for table in (
        "outbox",
        "login_attempts",
        "password_reset_tokens",
        "refresh_tokens",
        "credentials",
        "customers",
    ):
        op.drop_table(table, schema=SCHEMA)
