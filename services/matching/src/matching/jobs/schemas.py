"""Response models of jobs: status and progress, the paged results, the report."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from matching.matches.schemas import OutcomeReport, PersonResult

JobKind = Literal["matches", "outcome_report"]
JobStatus = Literal["queued", "running", "done", "failed"]


class JobOut(BaseModel):
    """A job's status and progress; a done outcome report job carries its report."""

    id: uuid.UUID
    kind: JobKind
    status: JobStatus
    total: int = Field(description="People in the cohort")
    done: int = Field(description="People matched so far")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="When the finished job will be deleted")
    error: str | None = Field(description="Why a failed job failed")
    results: str | None = Field(
        description="Where a done matches job's results are, paged as JSON (add /results.csv "
        "after the job's URL for one CSV)"
    )
    report: OutcomeReport | None = Field(description="A done outcome report job's report")


class NumberedResult(PersonResult):
    """One person's result in a job: ``index`` is the person's place in the cohort (from 0)."""

    index: int
