"""enrollments: a blocking index on the SSN's last four and the first name's code

A stay whose last name was misspelt and whose date of birth is wrong or unknown was found by no
key, although its first name and SSN agree (on FEBRL3, most of the true pairs no key found).
Written by hand.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_enrollments_ssn4_first",
        "enrollments",
        ["ssn_last4_hash", "first_code", "entry_date", "id"],
        schema="matching",
    )


def downgrade() -> None:
    op.drop_index("ix_enrollments_ssn4_first", table_name="enrollments", schema="matching")
