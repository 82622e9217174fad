"""All SQL of jobs: the job rows, their sealed chunks and their results (sent straight to the
driver, ``common.sql``)."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from common.pagination import paginate_sql
from common.sql import Sql, Transaction
from matching.jobs.models import UNFINISHED, Job, JobChunk, JobResult

RESULTS_BATCH = 1000
"""Result rows read at a time by a stream over every result of a job."""
_UNFINISHED = "status IN (" + ", ".join(f"'{status}'" for status in UNFINISHED) + ")"
_INSERT = Sql.of(
    "INSERT INTO jobs (id, owner, owner_roles, kind, status, total, created_at) "
    "VALUES (:id, :owner, :owner_roles, :kind, :status, :total, :created_at)"
)
_SAVE = Sql.of(
    "UPDATE jobs SET status = :status, total = :total, done = :done, matched = :matched, "
    "complete_matches = :complete_matches, partial_matches = :partial_matches, "
    "probes_refused = :probes_refused, error = :error, report = :report, "
    "started_at = :started_at, finished_at = :finished_at WHERE id = :id"
)
_ADD_CHUNK = Sql.of(
    "INSERT INTO job_chunks (job_id, number, first_person, people, sealed) "
    "VALUES (:job_id, :number, :first_person, :people, :sealed)"
)
_OWNED = Sql.of("SELECT * FROM jobs WHERE id = :id AND owner = :owner")
_PAGE = Sql.of(
    "SELECT * FROM jobs WHERE owner = :owner ORDER BY created_at DESC, id "
    "LIMIT :limit OFFSET :offset"
)
_COUNT = Sql.of("SELECT count(*) FROM jobs WHERE owner = :owner")
_DELETE_OWNED = Sql.of("DELETE FROM jobs WHERE id = :id AND owner = :owner")
_CLAIM = Sql.of(
    f"SELECT * FROM jobs WHERE {_UNFINISHED} ORDER BY created_at, id "  # noqa: S608 (constants)
    "LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_CLAIM_ONE = Sql.of(f"SELECT * FROM jobs WHERE id = :id AND {_UNFINISHED} FOR UPDATE")  # noqa: S608
_UNFINISHED_COUNT = Sql.of(f"SELECT count(*) FROM jobs WHERE {_UNFINISHED}")  # noqa: S608
_NEXT_CHUNK = Sql.of("SELECT * FROM job_chunks WHERE job_id = :job_id ORDER BY number LIMIT 1")
_DELETE_CHUNK = Sql.of("DELETE FROM job_chunks WHERE job_id = :job_id AND number = :number")
_DELETE_CHUNKS = Sql.of("DELETE FROM job_chunks WHERE job_id = :job_id")
_ADD_RESULTS = Sql.of(
    "INSERT INTO job_results (job_id, number, result) "
    "SELECT :job_id, :first + CAST(item.position AS integer) - 1, item.result "
    "FROM jsonb_array_elements(CAST(:results AS jsonb)) WITH ORDINALITY AS item(result, position)"
)
_RESULTS = Sql.of(
    "SELECT job_id, number, result FROM job_results "
    "WHERE job_id = :job_id AND number >= :start AND number < :end ORDER BY number"
)
_RESULTS_AFTER = Sql.of(
    "SELECT job_id, number, result FROM job_results WHERE job_id = :job_id AND number > :after "
    "ORDER BY number LIMIT :limit"
)
_SNAPSHOT = Sql.of("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
_DELETE_RESULTS = Sql.of("DELETE FROM job_results WHERE job_id = :job_id")
_RECORD_FAILURE = Sql.of(
    "UPDATE jobs SET failures = failures + 1 WHERE id = :id RETURNING failures"
)
_DELETE_FINISHED = Sql.of("DELETE FROM jobs WHERE finished_at < :moment")


def _count(status: str) -> int:
    """The rows a DELETE or UPDATE touched, from PostgreSQL's status line (``DELETE 3``)."""
    return int(status.split()[-1])


class JobRepository:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def add(self, job: Job) -> None:
        """Store a new job (its counts and progress start at zero)."""
        await self.transaction.execute(
            _INSERT,
            id=job.id,
            owner=job.owner,
            owner_roles=job.owner_roles,
            kind=job.kind,
            status=job.status,
            total=job.total,
            created_at=job.created_at,
        )

    async def save(self, job: Job) -> None:
        """Store the job's status, counts, progress and outcome as they are now."""
        await self.transaction.execute(
            _SAVE,
            id=job.id,
            status=job.status,
            total=job.total,
            done=job.done,
            matched=job.matched,
            complete_matches=job.complete_matches,
            partial_matches=job.partial_matches,
            probes_refused=job.probes_refused,
            error=job.error,
            report=job.report,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )

    async def add_chunk(self, chunk: JobChunk) -> None:
        await self.transaction.execute(_ADD_CHUNK, **chunk.model_dump())

    async def owned(self, job_id: uuid.UUID, owner: str) -> Job | None:
        """The job when ``owner`` asked for it, else None (whether or not it exists)."""
        row = await self.transaction.fetchrow(_OWNED, id=job_id, owner=owner)
        return None if row is None else Job(**row)

    async def page(self, owner: str, *, limit: int, offset: int) -> tuple[list[Job], int]:
        """The owner's jobs, newest first."""
        rows, total = await paginate_sql(
            self.transaction, _PAGE, _COUNT, limit=limit, offset=offset, owner=owner
        )
        return [Job(**row) for row in rows], total

    async def delete_owned(self, job_id: uuid.UUID, owner: str) -> bool:
        """Delete the job (its chunks and results with it); False when the owner has none such.
        A job being worked on is deleted once its current chunk is done (its row is locked)."""
        return _count(await self.transaction.execute(_DELETE_OWNED, id=job_id, owner=owner)) > 0

    async def claim(self) -> Job | None:
        """The oldest unfinished job no one else works on, locked for this transaction: two
        workers (in one process or two replicas) never work on one job at the same time."""
        row = await self.transaction.fetchrow(_CLAIM)
        return None if row is None else Job(**row)

    async def claim_one(self, job_id: uuid.UUID) -> Job | None:
        """This job, when unfinished, locked for this transaction (waiting for a worker's step)."""
        row = await self.transaction.fetchrow(_CLAIM_ONE, id=job_id)
        return None if row is None else Job(**row)

    async def unfinished(self) -> int:
        return int(await self.transaction.fetchval(_UNFINISHED_COUNT))

    async def next_chunk(self, job_id: uuid.UUID) -> JobChunk | None:
        row = await self.transaction.fetchrow(_NEXT_CHUNK, job_id=job_id)
        return None if row is None else JobChunk(**row)

    async def delete_chunks(self, job_id: uuid.UUID, number: int | None = None) -> None:
        """Delete one chunk of the job, or every chunk when ``number`` is None."""
        if number is None:
            await self.transaction.execute(_DELETE_CHUNKS, job_id=job_id)
        else:
            await self.transaction.execute(_DELETE_CHUNK, job_id=job_id, number=number)

    async def add_results(
        self, job_id: uuid.UUID, first: int, results: Sequence[dict[str, Any]]
    ) -> None:
        if not results:
            return
        await self.transaction.execute(
            _ADD_RESULTS, job_id=job_id, first=first, results=list(results)
        )

    async def results(self, job_id: uuid.UUID, *, limit: int, offset: int) -> list[JobResult]:
        """Results ``offset`` to ``offset + limit - 1`` (a job's people are numbered densely)."""
        rows = await self.transaction.fetch(
            _RESULTS, job_id=job_id, start=offset, end=offset + limit
        )
        return [JobResult(**row) for row in rows]

    async def every_result(self, job_id: uuid.UUID) -> AsyncIterator[JobResult]:
        """Every result of the job in order, read a batch at a time."""
        after = -1
        while True:
            rows = await self.transaction.fetch(
                _RESULTS_AFTER, job_id=job_id, after=after, limit=RESULTS_BATCH
            )
            for row in rows:
                yield JobResult(**row)
            if len(rows) < RESULTS_BATCH:
                return
            after = rows[-1]["number"]

    async def snapshot(self) -> None:
        """Read what follows in this transaction from one snapshot (its first statement)."""
        await self.transaction.execute(_SNAPSHOT)

    async def delete_results(self, job_id: uuid.UUID) -> None:
        await self.transaction.execute(_DELETE_RESULTS, job_id=job_id)

    async def record_failure(self, job_id: uuid.UUID) -> int:
        """Count one more failed attempt at the job; the failures so far (0: no such job)."""
        failures = await self.transaction.fetchval(_RECORD_FAILURE, id=job_id)
        return int(failures or 0)

    async def delete_finished_before(self, moment: datetime) -> int:
        """Delete the jobs finished before ``moment``; how many."""
        return _count(await self.transaction.execute(_DELETE_FINISHED, moment=moment))
