"""occupancy's tables, all in schema "occupancy".

``actions`` is the durable log and the source of truth of the daily files; ``rooms.occupant_count``
and ``occupants`` are the current state, changed in the same transaction as the action is logged.
"""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from common.models import created_at_field, schema_registry, updated_at_field

SCHEMA = "occupancy"

ROOM_SLUG_PATTERN = "^[a-z0-9][a-z0-9-]{0,62}$"
DEFAULT_ROOM = "default"
MAX_NAME_LENGTH = 100
ACTIONS = ("register", "unregister")


class Table(SQLModel, registry=schema_registry(SCHEMA)):
    """Base of occupancy's table models: they land in schema "occupancy" and nowhere else."""


metadata = Table.metadata


def _optional_timestamp() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=True)


class Room(Table, table=True):
    __tablename__ = "rooms"
    __table_args__ = (
        UniqueConstraint("slug", name="rooms_slug_unique"),
        CheckConstraint(f"slug ~ '{ROOM_SLUG_PATTERN}'", name="rooms_slug_format"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="rooms_capacity_positive"),
        CheckConstraint(
            "occupant_count >= 0 AND (capacity IS NULL OR occupant_count <= capacity)",
            name="rooms_within_capacity",
        ),
    )

    room_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    slug: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    capacity: int | None = Field(default=None, sa_column=Column(Integer))
    time_zone: str = Field(sa_column=Column(Text, nullable=False, server_default="UTC"))
    public: bool = Field(sa_column=Column(Boolean, nullable=False, server_default="false"))
    occupant_count: int = Field(sa_column=Column(Integer, nullable=False, server_default="0"))
    last_update: datetime | None = Field(default=None, sa_column=_optional_timestamp())
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()


class Occupant(Table, table=True):
    """Who is inside a room now: one row per person, so a second register is refused."""

    __tablename__ = "occupants"
    __table_args__ = (
        PrimaryKeyConstraint("room_id", "name", name="occupants_one_per_name"),
        CheckConstraint(
            f"char_length(name) BETWEEN 1 AND {MAX_NAME_LENGTH} AND name = btrim(name)",
            name="occupants_name_trimmed",
        ),
    )

    room_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("rooms.room_id", ondelete="CASCADE"))
    )
    name: str = Field(sa_column=Column(Text))
    entered_at: datetime | None = created_at_field()


class Action(Table, table=True):
    """One accepted register or unregister; the daily CSV files are projections of these rows."""

    __tablename__ = "actions"
    __table_args__ = (
        CheckConstraint(
            "action IN (" + ", ".join(f"'{action}'" for action in ACTIONS) + ")",
            name="actions_action_known",
        ),
        Index("ix_actions_room_time", "room_id", "occurred_at"),
        Index("ix_actions_room_id", "room_id", "action_id"),
    )

    action_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    room_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("rooms.room_id", ondelete="RESTRICT"), nullable=False
        )
    )
    name: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    count_after: int = Field(sa_column=Column(Integer, nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    occurred_at: datetime | None = created_at_field()


class LogDay(Table, table=True):
    """Export bookkeeping: a room's day whose file is behind while ``exported_through`` lags."""

    __tablename__ = "log_days"
    __table_args__ = (
        PrimaryKeyConstraint("room_id", "day", name="log_days_room_day"),
        Index(
            "ix_log_days_pending",
            "room_id",
            "day",
            postgresql_where=text("exported_through < last_action"),
        ),
    )

    room_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("rooms.room_id", ondelete="CASCADE"))
    )
    day: date = Field(sa_column=Column(Date))
    last_action: int = Field(sa_column=Column(BigInteger, nullable=False))
    exported_through: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    exported_at: datetime | None = Field(default=None, sa_column=_optional_timestamp())
