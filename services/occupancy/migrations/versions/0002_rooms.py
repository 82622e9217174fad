"""rooms, occupants, the action log and its export bookkeeping

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "occupancy"


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "rooms",
        sa.Column("room_id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("time_zone", sa.Text(), server_default="UTC", nullable=False),
        sa.Column("public", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("occupant_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_update", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'", name="rooms_slug_format"),
        sa.CheckConstraint("capacity IS NULL OR capacity > 0", name="rooms_capacity_positive"),
        sa.CheckConstraint(
            "occupant_count >= 0 AND (capacity IS NULL OR occupant_count <= capacity)",
            name="rooms_within_capacity",
        ),
        sa.PrimaryKeyConstraint("room_id"),
        sa.UniqueConstraint("slug", name="rooms_slug_unique"),
        schema=SCHEMA,
    )
    op.create_table(
        "occupants",
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100 AND name = btrim(name)",
            name="occupants_name_trimmed",
        ),
        sa.ForeignKeyConstraint(["room_id"], [f"{SCHEMA}.rooms.room_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("room_id", "name", name="occupants_one_per_name"),
        schema=SCHEMA,
    )
    # The durable log: a room with history cannot be deleted (RESTRICT).
    op.create_table(
        "actions",
        sa.Column("action_id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("count_after", sa.Integer(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("action IN ('register', 'unregister')", name="actions_action_known"),
        sa.ForeignKeyConstraint(["room_id"], [f"{SCHEMA}.rooms.room_id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("action_id"),
        schema=SCHEMA,
    )
    op.create_index("ix_actions_room_id", "actions", ["room_id", "action_id"], schema=SCHEMA)
    op.create_index("ix_actions_room_time", "actions", ["room_id", "occurred_at"], schema=SCHEMA)
    op.create_table(
        "log_days",
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_action", sa.BigInteger(), nullable=False),
        sa.Column("exported_through", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], [f"{SCHEMA}.rooms.room_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("room_id", "day", name="log_days_room_day"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_log_days_pending",
        "log_days",
        ["room_id", "day"],
        schema=SCHEMA,
        postgresql_where=sa.text("exported_through < last_action"),
    )


def downgrade() -> None:
    op.drop_table("log_days", schema=SCHEMA)
    op.drop_table("actions", schema=SCHEMA)
    op.drop_table("occupants", schema=SCHEMA)
    op.drop_table("rooms", schema=SCHEMA)
