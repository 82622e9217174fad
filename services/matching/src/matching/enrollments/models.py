"""The enrollment table: what providers upload, with SSNs only as keyed hashes."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field

from common.models import created_at_field, updated_at_field
from matching.destinations import DESTINATION_CODES
from matching.models import Table

DATA_QUALITY_CODES = (1, 2, 8, 9, 99)
"""HMIS data quality: 1 full, 2 partial/approximate, 8 client doesn't know, 9 prefers not to
answer, 99 not collected."""
_DATA_QUALITY_SQL = ", ".join(map(str, DATA_QUALITY_CODES))
_DESTINATIONS_SQL = ", ".join(map(str, DESTINATION_CODES))


def _data_quality_column() -> Column[int]:
    return Column(SmallInteger, nullable=False, server_default="99")


class Enrollment(Table, table=True):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("organization_id", "enrollment_id", name="enrollments_one_per_id"),
        CheckConstraint(
            "exit_date IS NULL OR exit_date >= entry_date", name="enrollments_exit_after_entry"
        ),
        CheckConstraint(
            "income_at_entry >= 0 AND income_at_exit >= 0", name="enrollments_income_not_negative"
        ),
        CheckConstraint(
            f"exit_destination IN ({_DESTINATIONS_SQL})", name="enrollments_destination_known"
        ),
        CheckConstraint(
            f"name_data_quality IN ({_DATA_QUALITY_SQL}) AND ssn_data_quality IN "
            f"({_DATA_QUALITY_SQL}) AND dob_data_quality IN ({_DATA_QUALITY_SQL})",
            name="enrollments_data_quality_known",
        ),
        CheckConstraint(
            "octet_length(ssn_hash) = 32 AND octet_length(ssn_last4_hash) = 32 "
            "AND octet_length(ssn_masked_hashes) = 72",
            name="enrollments_ssn_hashes_only",
        ),
        CheckConstraint(
            "ssn_hash IS NULL OR ssn_last4_hash IS NOT NULL", name="enrollments_ssn_last4_hashed"
        ),
        CheckConstraint(
            "num_nonnulls(first_key, last_key, dob, ssn_last4_hash) >= 2",
            name="enrollments_two_identifiers",
        ),
        # One index per blocking key (matches/scoring.py): any one finds a candidate. Then the
        # entry date and id: a key's most recent stays are its index's last entries, read
        # backwards and stopped at the search's limit (matches/repository.py).
        Index("ix_enrollments_names", "last_code", "first_code", "entry_date", "id"),
        Index("ix_enrollments_dob_ssn4", "dob", "ssn_last4_hash", "entry_date", "id"),
        Index("ix_enrollments_dob_last", "dob", "last_code", "entry_date", "id"),
        Index("ix_enrollments_dob_first", "dob", "first_code", "entry_date", "id"),
        Index("ix_enrollments_ssn4_last", "ssn_last4_hash", "last_code", "entry_date", "id"),
        Index("ix_enrollments_ssn4_first", "ssn_last4_hash", "first_code", "entry_date", "id"),
        Index("ix_enrollments_client", "organization_id", "client_id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    organization_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
        )
    )
    client_id: str = Field(sa_column=Column(Text, nullable=False))
    enrollment_id: str = Field(sa_column=Column(Text, nullable=False))
    first_name: str | None = Field(default=None, sa_column=Column(Text))
    last_name: str | None = Field(default=None, sa_column=Column(Text))
    first_key: str | None = Field(default=None, sa_column=Column(Text))
    last_key: str | None = Field(default=None, sa_column=Column(Text))
    first_code: str | None = Field(default=None, sa_column=Column(Text))
    last_code: str | None = Field(default=None, sa_column=Column(Text))
    dob: date | None = Field(default=None, sa_column=Column(Date))
    ssn_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    ssn_last4_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    ssn_masked_hashes: bytes | None = Field(
        default=None, sa_column=Column(LargeBinary), description="Nine 8-byte masked hashes"
    )
    name_data_quality: int = Field(default=99, sa_column=_data_quality_column())
    ssn_data_quality: int = Field(default=99, sa_column=_data_quality_column())
    dob_data_quality: int = Field(default=99, sa_column=_data_quality_column())
    entry_date: date = Field(sa_column=Column(Date, nullable=False))
    exit_date: date | None = Field(default=None, sa_column=Column(Date))
    income_at_entry: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    income_at_exit: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    exit_destination: int | None = Field(default=None, sa_column=Column(SmallInteger))
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()
