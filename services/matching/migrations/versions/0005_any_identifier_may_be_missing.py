"""enrollments: the last name may be missing, like any other identifier

A record needs at least two identifiers of first name, last name, date of birth and SSN (or its
last four): the service says so row by row, and the table enforces it for every new or changed
row (NOT VALID: rows stored before, which had a last name, are not checked again). Written by
hand; autogenerate gives the same ALTERs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("last_name", "last_key", "last_code")


CONSTRAINT = "enrollments_two_identifiers"


def upgrade() -> None:
    for column in COLUMNS:
        op.alter_column(
            "enrollments", column, existing_type=sa.Text(), nullable=True, schema="matching"
        )
    op.execute(
        f"ALTER TABLE matching.enrollments ADD CONSTRAINT {CONSTRAINT} "
        "CHECK (num_nonnulls(first_key, last_key, dob, ssn_last4_hash) >= 2) NOT VALID"
    )


def downgrade() -> None:
    op.drop_constraint(CONSTRAINT, "enrollments", schema="matching")
    op.execute("DELETE FROM matching.enrollments WHERE last_name IS NULL")
    for column in COLUMNS:
        op.alter_column(
            "enrollments", column, existing_type=sa.Text(), nullable=False, schema="matching"
        )
