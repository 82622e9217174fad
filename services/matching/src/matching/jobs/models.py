"""A job, its sealed input in chunks, and its per-person results."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from matching.models import Table

JOB_KINDS = ("matches", "outcome_report")
JOB_STATUSES = ("queued", "running", "done", "failed")
UNFINISHED = ("queued", "running")


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _count_column() -> Column[int]:
    return Column(Integer, nullable=False, server_default="0")


class Job(Table, table=True):
    """A cohort matched in the background; it belongs to the subject that asked."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_sql_list(JOB_KINDS)})", name="jobs_kind_known"),
        CheckConstraint(f"status IN ({_sql_list(JOB_STATUSES)})", name="jobs_status_known"),
        CheckConstraint("done >= 0 AND done <= total", name="jobs_progress"),
        # The worker's queue: unfinished jobs, oldest first.
        Index(
            "ix_jobs_unfinished",
            "created_at",
            postgresql_where=text(f"status IN ({_sql_list(UNFINISHED)})"),
        ),
        Index("ix_jobs_finished_at", "finished_at"),
        Index("ix_jobs_owner", "owner", "created_at"),
    )

    id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    owner: str = Field(sa_column=Column(Text, nullable=False), description="The asker's subject")
    owner_roles: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False, server_default="queued"))
    total: int = Field(sa_column=Column(Integer, nullable=False))
    done: int = Field(default=0, sa_column=_count_column())
    failures: int = Field(default=0, sa_column=_count_column())
    matched: int = Field(default=0, sa_column=_count_column())
    complete_matches: int = Field(default=0, sa_column=_count_column())
    partial_matches: int = Field(default=0, sa_column=_count_column())
    probes_refused: int = Field(default=0, sa_column=_count_column())
    error: str | None = Field(default=None, sa_column=Column(Text))
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


def _job_column() -> Column[uuid.UUID]:
    return Column(Uuid, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)


class JobChunk(Table, table=True):
    """People of a job not yet matched, sealed (AES-GCM): deleted once matched."""

    __tablename__ = "job_chunks"

    job_id: uuid.UUID = Field(sa_column=_job_column())
    number: int = Field(sa_column=Column(Integer, primary_key=True))
    first_person: int = Field(sa_column=Column(Integer, nullable=False))
    people: int = Field(sa_column=Column(Integer, nullable=False))
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class JobResult(Table, table=True):
    """One person's answer: a match result, or what an outcome report needs of them."""

    __tablename__ = "job_results"

    job_id: uuid.UUID = Field(sa_column=_job_column())
    number: int = Field(sa_column=Column(Integer, primary_key=True))
    result: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
