"""Trained linkage models and the name frequencies each was trained with (counts, no names of
people beyond the normalized name keys the enrollments already hold)."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    SmallInteger,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from matching.models import Table


class TrainedModel(Table, table=True):
    """One version of the model: parameters as ``FellegiSunterModel.to_json`` plus the counts."""

    __tablename__ = "linkage_models"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    trained_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    enrollments: int = Field(sa_column=Column(Integer, nullable=False))
    people: int = Field(sa_column=Column(Integer, nullable=False))
    parameters: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))


class NameFrequency(Table, table=True):
    """How many people (organization and client) hold one name key, as one model counted."""

    __tablename__ = "name_frequencies"

    model_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("linkage_models.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    field: str = Field(sa_column=Column(Text, primary_key=True))
    key: str = Field(sa_column=Column(Text, primary_key=True))
    people: int = Field(sa_column=Column(Integer, nullable=False))


class ComparisonPattern(Table, table=True):
    """How many pairs one request (or, once compacted, many) compared at one combination of
    levels (-1: a field either side lacked): what expectation maximisation learns ``m`` from.
    Levels only, no identifiers. Requests only append, so that concurrent ones never wait on
    each other's rows; the training task adds the rows up."""

    __tablename__ = "comparison_patterns"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    first_name: int = Field(sa_column=Column(SmallInteger, nullable=False))
    last_name: int = Field(sa_column=Column(SmallInteger, nullable=False))
    dob: int = Field(sa_column=Column(SmallInteger, nullable=False))
    ssn: int = Field(sa_column=Column(SmallInteger, nullable=False))
    pairs: int = Field(sa_column=Column(BigInteger, nullable=False))
