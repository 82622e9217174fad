"""organizations, their members, enrollments (SSNs only as keyed hashes) and the audit log

Reviewed after autogenerate: one index per blocking key of matches/scoring.py; the check
constraints are the ones registered as problems in main.py.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("complete_matches", sa.Integer(), nullable=False),
        sa.Column("partial_matches", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "action IN ('matches', 'return_user_info', 'outcome_report')",
            name="audit_log_action_known",
        ),
        sa.CheckConstraint(
            "people >= 0 AND matched >= 0 AND matched <= people", name="audit_log_counts"
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="matching",
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        schema="matching",
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("enrollment_id", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("first_key", sa.Text(), nullable=True),
        sa.Column("last_key", sa.Text(), nullable=False),
        sa.Column("first_code", sa.Text(), nullable=True),
        sa.Column("last_code", sa.Text(), nullable=False),
        sa.Column("dob", sa.Date(), nullable=True),
        sa.Column("ssn_hash", sa.LargeBinary(), nullable=True),
        sa.Column("ssn_last4_hash", sa.LargeBinary(), nullable=True),
        sa.Column("ssn_masked_hashes", sa.LargeBinary(), nullable=True),
        sa.Column("name_data_quality", sa.SmallInteger(), server_default="99", nullable=False),
        sa.Column("ssn_data_quality", sa.SmallInteger(), server_default="99", nullable=False),
        sa.Column("dob_data_quality", sa.SmallInteger(), server_default="99", nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("exit_date", sa.Date(), nullable=True),
        sa.Column("income_at_entry", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("income_at_exit", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("exit_destination", sa.SmallInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "exit_date IS NULL OR exit_date >= entry_date", name="enrollments_exit_after_entry"
        ),
        sa.CheckConstraint(
            "exit_destination IN (8, 9, 17, 24, 30, 99, 101, 116, 118, 204, 205, 206, 207, 215, 225, 302, 312, 313, 314, 327, 329, 332, 410, 411, 421, 422, 423, 426, 435)",
            name="enrollments_destination_known",
        ),
        sa.CheckConstraint(
            "income_at_entry >= 0 AND income_at_exit >= 0", name="enrollments_income_not_negative"
        ),
        sa.CheckConstraint(
            "name_data_quality IN (1, 2, 8, 9, 99) AND ssn_data_quality IN (1, 2, 8, 9, 99) AND dob_data_quality IN (1, 2, 8, 9, 99)",
            name="enrollments_data_quality_known",
        ),
        sa.CheckConstraint(
            "octet_length(ssn_hash) = 32 AND octet_length(ssn_last4_hash) = 32 AND octet_length(ssn_masked_hashes) = 72",
            name="enrollments_ssn_hashes_only",
        ),
        sa.CheckConstraint(
            "ssn_hash IS NULL OR ssn_last4_hash IS NOT NULL", name="enrollments_ssn_last4_hashed"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["matching.organizations.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "enrollment_id", name="enrollments_one_per_id"),
        schema="matching",
    )
    op.create_index(
        "ix_enrollments_client",
        "enrollments",
        ["organization_id", "client_id"],
        unique=False,
        schema="matching",
    )
    op.create_index(
        "ix_enrollments_dob_first",
        "enrollments",
        ["dob", "first_code"],
        unique=False,
        schema="matching",
    )
    op.create_index(
        "ix_enrollments_dob_last",
        "enrollments",
        ["dob", "last_code"],
        unique=False,
        schema="matching",
    )
    op.create_index(
        "ix_enrollments_dob_ssn4",
        "enrollments",
        ["dob", "ssn_last4_hash"],
        unique=False,
        schema="matching",
    )
    op.create_index(
        "ix_enrollments_names",
        "enrollments",
        ["last_code", "first_code"],
        unique=False,
        schema="matching",
    )
    op.create_index(
        "ix_enrollments_ssn4_last",
        "enrollments",
        ["ssn_last4_hash", "last_code"],
        unique=False,
        schema="matching",
    )
    op.create_table(
        "organization_members",
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["matching.organizations.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("subject"),
        schema="matching",
    )
    op.create_index(
        op.f("ix_matching_organization_members_organization_id"),
        "organization_members",
        ["organization_id"],
        unique=False,
        schema="matching",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_matching_organization_members_organization_id"),
        table_name="organization_members",
        schema="matching",
    )
    op.drop_table("organization_members", schema="matching")
    op.drop_index("ix_enrollments_ssn4_last", table_name="enrollments", schema="matching")
    op.drop_index("ix_enrollments_names", table_name="enrollments", schema="matching")
    op.drop_index("ix_enrollments_dob_ssn4", table_name="enrollments", schema="matching")
    op.drop_index("ix_enrollments_dob_last", table_name="enrollments", schema="matching")
    op.drop_index("ix_enrollments_dob_first", table_name="enrollments", schema="matching")
    op.drop_index("ix_enrollments_client", table_name="enrollments", schema="matching")
    op.drop_table("enrollments", schema="matching")
    op.drop_table("organizations", schema="matching")
    op.drop_table("audit_log", schema="matching")
