"""jobs: cohorts matched in the background, their sealed input chunks and per-person results

Reviewed after autogenerate: the partial index is the worker's queue (unfinished jobs, oldest
first); chunks and results go with their job (ON DELETE CASCADE).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("owner_roles", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("matched", sa.Integer(), server_default="0", nullable=False),
        sa.Column("complete_matches", sa.Integer(), server_default="0", nullable=False),
        sa.Column("partial_matches", sa.Integer(), server_default="0", nullable=False),
        sa.Column("probes_refused", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('matches', 'outcome_report')", name="jobs_kind_known"),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name="jobs_status_known"
        ),
        sa.CheckConstraint("done >= 0 AND done <= total", name="jobs_progress"),
        sa.PrimaryKeyConstraint("id"),
        schema="matching",
    )
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"], unique=False, schema="matching")
    op.create_index(
        "ix_jobs_owner", "jobs", ["owner", "created_at"], unique=False, schema="matching"
    )
    op.create_index(
        "ix_jobs_unfinished",
        "jobs",
        ["created_at"],
        unique=False,
        schema="matching",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_table(
        "job_chunks",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("first_person", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["matching.jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "number"),
        schema="matching",
    )
    op.create_table(
        "job_results",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["matching.jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "number"),
        schema="matching",
    )


def downgrade() -> None:
    op.drop_table("job_results", schema="matching")
    op.drop_table("job_chunks", schema="matching")
    op.drop_index(
        "ix_jobs_unfinished",
        table_name="jobs",
        schema="matching",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.drop_index("ix_jobs_owner", table_name="jobs", schema="matching")
    op.drop_index("ix_jobs_finished_at", table_name="jobs", schema="matching")
    op.drop_table("jobs", schema="matching")
