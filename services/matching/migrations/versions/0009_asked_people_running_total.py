"""probe_asked_people.total: each request's running total of the people its caller asked, so
that the budgets read two rows instead of every request of the caller's day

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "probe_asked_people", sa.Column("total", sa.BigInteger(), nullable=True), schema="matching"
    )
    op.execute(
        """
        UPDATE matching.probe_asked_people AS asked SET total = running.total
        FROM (
            SELECT id, sum(people) OVER (PARTITION BY subject ORDER BY asked_at, id) AS total
            FROM matching.probe_asked_people
        ) AS running
        WHERE asked.id = running.id
        """
    )
    op.alter_column("probe_asked_people", "total", nullable=False, schema="matching")
    op.create_check_constraint(
        "probe_asked_people_total", "probe_asked_people", "total >= people", schema="matching"
    )
    op.create_index(
        "ix_probe_asked_people_subject_at_total",
        "probe_asked_people",
        ["subject", "asked_at", "total"],
        unique=False,
        schema="matching",
        postgresql_include=["people"],
    )
    op.drop_index(
        "ix_probe_asked_people_subject_at", table_name="probe_asked_people", schema="matching"
    )


def downgrade() -> None:
    op.create_index(
        "ix_probe_asked_people_subject_at",
        "probe_asked_people",
        ["subject", "asked_at"],
        unique=False,
        schema="matching",
    )
    op.drop_index(
        "ix_probe_asked_people_subject_at_total",
        table_name="probe_asked_people",
        schema="matching",
    )
    op.drop_constraint("probe_asked_people_total", "probe_asked_people", schema="matching")
    op.drop_column("probe_asked_people", "total", schema="matching")
