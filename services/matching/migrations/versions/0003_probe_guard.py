"""the probe guard's memory (keyed hashes of variants asked, people asked) and probes in the audit

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "probe_variants",
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("person_key", sa.LargeBinary(), nullable=False),
        sa.Column("variant", sa.LargeBinary(), nullable=False),
        sa.Column("last_asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "octet_length(person_key) = 32 AND octet_length(variant) = 32",
            name="probe_variants_hashes_only",
        ),
        sa.PrimaryKeyConstraint("subject", "person_key", "variant"),
        schema="matching",
    )
    op.create_table(
        "probe_asked_people",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.CheckConstraint("people > 0", name="probe_asked_people_positive"),
        sa.PrimaryKeyConstraint("id"),
        schema="matching",
    )
    op.create_index(
        "ix_probe_asked_people_subject_at",
        "probe_asked_people",
        ["subject", "asked_at"],
        unique=False,
        schema="matching",
    )
    op.add_column(
        "audit_log",
        sa.Column("probes_refused", sa.Integer(), server_default="0", nullable=False),
        schema="matching",
    )
    op.create_check_constraint(
        "audit_log_probes_refused",
        "audit_log",
        "probes_refused >= 0 AND probes_refused <= people",
        schema="matching",
    )


def downgrade() -> None:
    op.drop_constraint("audit_log_probes_refused", "audit_log", schema="matching")
    op.drop_column("audit_log", "probes_refused", schema="matching")
    op.drop_index(
        "ix_probe_asked_people_subject_at", table_name="probe_asked_people", schema="matching"
    )
    op.drop_table("probe_asked_people", schema="matching")
    op.drop_table("probe_variants", schema="matching")
