"""The customer record: the one table every identity hangs off."""

from datetime import datetime

from sqlalchemy import ARRAY, CheckConstraint, Column, Index, Text
from sqlmodel import Field

from common.models import created_at_field, updated_at_field
from customers.fields import CUSTOMER_ID_PATTERN
from customers.models import Table

# Every role customers grants; each service checks its own (tests/test_boundaries.py keeps them
# within this set). A new role is added here and by a migration of customers_roles_known.
ROLES = frozenset(
    {
        "customer",
        "patient",
        "doctor",
        "receptionist",
        "provider",
        "utility",
        "staff",
        "admin",
        "service",
    }
)
KNOWN_ROLES_SQL = "ARRAY[" + ", ".join(f"'{role}'" for role in sorted(ROLES)) + "]::text[]"


class Customer(Table, table=True):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(
            f"customer_id ~ '{CUSTOMER_ID_PATTERN}'", name="customers_customer_id_format"
        ),
        CheckConstraint("email = lower(email)", name="customers_email_normalized"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="customers_country_alpha2"),
        CheckConstraint("language ~ '^[a-z]{2}$'", name="customers_language_alpha2"),
        CheckConstraint(f"roles <@ {KNOWN_ROLES_SQL}", name="customers_roles_known"),
        Index("ix_customers_email_prefix", "email", postgresql_ops={"email": "text_pattern_ops"}),
    )

    customer_id: str = Field(sa_column=Column(Text, primary_key=True))
    email: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    country: str | None = Field(default=None, sa_column=Column(Text))
    language: str | None = Field(default=None, sa_column=Column(Text))
    roles: list[str] = Field(
        sa_column=Column(ARRAY(Text), nullable=False, server_default="{customer}")
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
