"""The participants directory: everyone the service has seen, with a bigint key for ranges."""

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, Column, Identity, Text
from sqlmodel import Field

from appointments.models import Table
from common.models import created_at_field, updated_at_field


class Participant(Table, table=True):
    """A person as their token or customers last described them (subject, email, roles).

    ``id`` is a surrogate bigint so the no-overlap constraints can compare people with
    ``int8range`` on core PostgreSQL (no btree_gist).
    """

    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="participants_email_normalized"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    subject: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    email: str | None = Field(default=None, sa_column=Column(Text, unique=True))
    roles: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = updated_at_field()

    def display_name(self) -> str:
        """How lists name the person: the email, or the subject id when none is known."""
        return self.email or self.subject
