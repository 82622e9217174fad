"""linkage_models, name_frequencies and comparison_patterns: the model learned from the
enrollments held and from the pairs the service compared

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVEL_COLUMNS = ("first_name", "last_name", "dob", "ssn")


def upgrade() -> None:
    op.create_table(
        "linkage_models",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "trained_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("enrollments", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="matching",
    )
    op.create_table(
        "name_frequencies",
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["matching.linkage_models.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "field", "key"),
        schema="matching",
    )

    op.create_table(
        "comparison_patterns",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        *(sa.Column(name, sa.SmallInteger(), nullable=False) for name in LEVEL_COLUMNS),
        sa.Column("pairs", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="matching",
    )


def downgrade() -> None:
    op.drop_table("comparison_patterns", schema="matching")
    op.drop_table("name_frequencies", schema="matching")
    op.drop_table("linkage_models", schema="matching")
