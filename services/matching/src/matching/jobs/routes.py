"""/matching/jobs: the caller's jobs, their progress, results (paged JSON or one CSV), deletion."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, StreamingResponse

from common.dependencies import AppDatabase
from common.problems import documented_problem
from common.schemas import Page, PageQuery
from matching.dependencies import Asker
from matching.jobs.dependencies import Jobs
from matching.jobs.models import Job
from matching.jobs.results_csv import results_csv
from matching.jobs.schemas import JobOut, NumberedResult
from matching.jobs.service import JobService, stream_results
from matching.matches.schemas import OutcomeReport

Responses = dict[int | str, dict[str, Any]]
router = APIRouter(prefix="/matching/jobs", tags=["jobs"])
NOT_YOURS: Responses = {404: documented_problem("You have no job with this id")}
NOT_DONE: Responses = {
    **NOT_YOURS,
    409: documented_problem("The job is not done, or is an outcome report (no per-person results)"),
}
JobId = Annotated[uuid.UUID, Path()]


def job_url(job: Job) -> str:
    return f"/matching/jobs/{job.id}"


def job_out(job: Job, jobs: JobService) -> JobOut:
    done_matches = job.kind == "matches" and job.status == "done"
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        total=job.total,
        done=job.done,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        expires_at=jobs.expires_at(job),
        error=job.error,
        results=f"{job_url(job)}/results" if done_matches else None,
        report=None if job.report is None else OutcomeReport.model_validate(job.report),
    )


def accepted(job: Job, jobs: JobService) -> JSONResponse:
    """202 with the job's URL: what a cohort too large for one request answers."""
    return JSONResponse(
        job_out(job, jobs).model_dump(mode="json"),
        status_code=202,
        headers={"Location": job_url(job)},
    )


@router.get("", summary="Your jobs, newest first (utility, admin)")
async def list_jobs(
    query: Annotated[PageQuery, Query()], caller: Asker, jobs: Jobs
) -> Page[JobOut]:
    items, total = await jobs.page(caller, limit=query.limit, offset=query.offset)
    return Page[JobOut].of([job_out(job, jobs) for job in items], total, query)


@router.get("/{job_id}", summary="A job's status and progress (its owner)", responses=NOT_YOURS)
async def read_job(job_id: JobId, caller: Asker, jobs: Jobs) -> JobOut:
    return job_out(await jobs.owned(job_id, caller), jobs)


@router.get(
    "/{job_id}/results",
    summary="A done matches job's results, paged, in cohort order (its owner)",
    responses=NOT_DONE,
)
async def job_results(
    job_id: JobId, query: Annotated[PageQuery, Query()], caller: Asker, jobs: Jobs
) -> Page[NumberedResult]:
    job, rows = await jobs.results(job_id, caller, limit=query.limit, offset=query.offset)
    items = [NumberedResult.model_validate({**row.result, "index": row.number}) for row in rows]
    return Page[NumberedResult].of(items, job.total, query)


@router.get(
    "/{job_id}/results.csv",
    summary="A done matches job's results as one CSV (its owner): a line per match",
    description="Columns: index (the person's place in the cohort, from 0), match (complete, "
    "partial or none), organization, client_id, enrollment_id, first_name, last_name, "
    "enroll_date, exit_date, income_at_entry, income_at_exit, exit_destination (HUD code), "
    "match_weight, probability.",
    response_class=StreamingResponse,
    responses={**NOT_DONE, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def job_results_csv(
    job_id: JobId, caller: Asker, jobs: Jobs, database: AppDatabase
) -> StreamingResponse:
    job = await jobs.downloadable(job_id, caller)
    return StreamingResponse(
        results_csv(stream_results(database, job.id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="matches-{job.id}.csv"'},
    )


@router.delete(
    "/{job_id}",
    status_code=204,
    summary="Delete a job, its input and results (its owner); a running job stops",
    responses=NOT_YOURS,
)
async def delete_job(job_id: JobId, caller: Asker, jobs: Jobs) -> None:
    await jobs.delete(job_id, caller)
