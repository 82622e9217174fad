"""Organizations and the subjects (customer ids) that act for them."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Identity, Text
from sqlmodel import Field

from common.models import created_at_field
from matching.models import Table


class Organization(Table, table=True):
    __tablename__ = "organizations"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    name: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    created_at: datetime | None = created_at_field()


class Member(Table, table=True):
    """A subject acts for at most one organization."""

    __tablename__ = "organization_members"

    subject: str = Field(sa_column=Column(Text, primary_key=True))
    organization_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    created_at: datetime | None = created_at_field()
