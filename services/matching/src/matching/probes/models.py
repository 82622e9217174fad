"""What the probe guard remembers of a caller's questions: keyed hashes and counts only."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
)
from sqlmodel import Field

from matching.models import Table


class AskedVariant(Table, table=True):
    """One identifier value a caller asked with about one person (both as keyed hashes)."""

    __tablename__ = "probe_variants"
    __table_args__ = (
        CheckConstraint(
            "octet_length(person_key) = 32 AND octet_length(variant) = 32",
            name="probe_variants_hashes_only",
        ),
    )

    subject: str = Field(sa_column=Column(Text, primary_key=True))
    person_key: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    variant: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    last_asked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AskedPeople(Table, table=True):
    """How many people one request of a caller asked about, for the hourly and daily budgets,
    and how many the caller asked in all up to it (``total``): the people within a window are
    the newest total less the total before the window's oldest request (two index lookups)."""

    __tablename__ = "probe_asked_people"
    __table_args__ = (
        CheckConstraint("people > 0", name="probe_asked_people_positive"),
        CheckConstraint("total >= people", name="probe_asked_people_total"),
        Index(
            "ix_probe_asked_people_subject_at_total",
            "subject",
            "asked_at",
            "total",
            postgresql_include=["people"],
        ),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    subject: str = Field(sa_column=Column(Text, nullable=False))
    asked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    people: int = Field(sa_column=Column(Integer, nullable=False))
    total: int = Field(sa_column=Column(BigInteger, nullable=False))
    """The people the caller asked in all, this request's included (its running total)."""
