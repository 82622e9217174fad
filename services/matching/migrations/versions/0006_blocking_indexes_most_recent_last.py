"""enrollments: each blocking index ends with the entry date and id

The candidate search takes at most MAX_CANDIDATES_PER_KEY enrollments per key, its most recent
stays: with (entry date, id) after the key that is the index's own order, read backwards and
stopped at the limit, whatever the key's count. Without an order PostgreSQL planned a sequential
scan per key once one key was shared by most rows (it then guesses any key at half the table,
and a scan that stops at the limit looks cheap; for a rare key it read the whole table). Written
by hand.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_enrollments_names": ["last_code", "first_code"],
    "ix_enrollments_dob_ssn4": ["dob", "ssn_last4_hash"],
    "ix_enrollments_dob_last": ["dob", "last_code"],
    "ix_enrollments_dob_first": ["dob", "first_code"],
    "ix_enrollments_ssn4_last": ["ssn_last4_hash", "last_code"],
}


def _recreate(extra: list[str]) -> None:
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name="enrollments", schema="matching")
        op.create_index(name, "enrollments", [*columns, *extra], schema="matching")


def upgrade() -> None:
    _recreate(["entry_date", "id"])


def downgrade() -> None:
    _recreate([])
