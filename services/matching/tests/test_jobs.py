"""CSV cohorts and jobs: a cohort larger than one request runs in the background, on real
PostgreSQL, through restarts of the service."""

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common.testing.checks import assert_problem
from matching.config import Settings
from matching.generator import Generator
from matching.jobs.service import JobRunner
from matching.jobs.worker import JobWorker
from matching.main import create_app

from .conftest import MARIA, MatchingApi, enrollment

SYNC_LIMIT = 5
CHUNK = 4
HEADER = "first_name,last_name,dob,ssn"


# The test app's own worker looks for jobs once at start and then sleeps: each test runs the
# workers it needs (another app on the same database, or steps by hand).
SMALL_JOBS = {
    "max_people_per_request": SYNC_LIMIT,
    "max_people_per_job": 40,
    "job_chunk_size": CHUNK,
    "job_poll_seconds": 3600,
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return SMALL_JOBS


@asynccontextmanager
async def running(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Another process of the service on the same database: its own app, lifespan and worker."""
    app: FastAPI = create_app(settings.model_copy(update=changes))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def working(settings: Settings) -> Any:
    """A replica whose worker looks for jobs every 20 ms."""
    return running(settings, job_poll_seconds=0.02)


async def wait_for(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], done: Callable[[Any], bool]
) -> dict[str, Any]:
    """Poll a job until ``done`` says so (10 s at most)."""
    async with asyncio.timeout(10):
        while True:
            response = await client.get(url, headers=headers)
            assert response.status_code == 200, response.text
            job: dict[str, Any] = response.json()
            if done(job):
                return job
            await asyncio.sleep(0.02)


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("done", "failed")


@pytest.fixture
async def cohort(api: MatchingApi) -> list[dict[str, Any]]:
    """Thirteen people to ask about (enrollments of some of them stored)."""
    data = Generator(3).dataset(clients=60, cohort=40)
    await api.organization("Shelter One", "provider-1")
    await api.upload(data.enrollments)
    people = [person for person in data.cohort if person.get("last_name")][:13]
    assert len(people) == 13
    return people


def people_of(cohort: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in person.items() if k != "account_closed_on"} for person in cohort]


def as_csv(rows: list[dict[str, Any]], columns: str = HEADER) -> str:
    names = columns.split(",")
    lines = [columns] + [",".join(str(row.get(name) or "") for name in names) for row in rows]
    return "\r\n".join(lines) + "\r\n"


async def chunks_of(body: str, size: int = 11) -> AsyncIterator[bytes]:
    """The body in small pieces, as a slow upload arrives."""
    data = body.encode()
    for start in range(0, len(data), size):
        yield data[start : start + size]


def csv_headers(api: MatchingApi) -> dict[str, str]:
    return {**api.utility, "content-type": "text/csv"}


async def submit(
    api: MatchingApi, people: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> str:
    response = await api.client.post(
        "/matching/matches", json={"people": people}, headers=headers or api.utility
    )
    assert response.status_code == 202, response.text
    location: str = response.headers["location"]
    return location


# CSV cohorts


async def test_a_csv_cohort_is_answered_as_its_json_twin(
    api: MatchingApi, cohort: list[dict[str, Any]]
) -> None:
    people = people_of(cohort)[:SYNC_LIMIT]
    from_json = await api.match(*people)
    response = await api.client.post(
        "/matching/matches", content=chunks_of(as_csv(people)), headers=csv_headers(api)
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"] == from_json
    assert any(result["complete_matches"] for result in from_json)
    assert await api.count("audit_log", "action = 'matches' AND people = :n", n=SYNC_LIMIT) == 2


async def test_a_csv_cohort_may_leave_out_columns_and_cells(api: MatchingApi) -> None:
    await api.organization("Shelter One", "provider-1")
    await api.upload([enrollment(1)])
    body = (
        "last_name,ssn,dob\r\n"
        + f"{MARIA['last_name']},{MARIA['ssn']},\n"
        + "Quist,,\n"
        + f"{MARIA['last_name']},000-00-0000,{MARIA['dob']}\n"
    )
    response = await api.client.post("/matching/matches", content=body, headers=csv_headers(api))
    assert response.status_code == 200, response.text
    maria, lone_name, bad_ssn = response.json()["results"]
    assert [m["enrollment_id"] for m in maria["complete_matches"]] == ["E1"]
    # A person's problem is that person's error or warning, never the whole file's.
    assert lone_name["error"]["title"] == "Not enough identifiers"
    assert lone_name["complete_matches"] == lone_name["partial_matches"] == []
    assert [warning["field"] for warning in bad_ssn["warnings"]] == ["ssn"]
    assert "000-00-0000" not in response.text
    assert [m["enrollment_id"] for m in bad_ssn["complete_matches"]] == ["E1"]


async def test_an_outcome_report_takes_a_csv_cohort(
    api: MatchingApi, cohort: list[dict[str, Any]]
) -> None:
    members = cohort[:SYNC_LIMIT]
    from_json = await api.client.post(
        "/matching/reports/outcomes", json={"cohort": members}, headers=api.utility
    )
    assert from_json.status_code == 200, from_json.text
    columns = HEADER + ",account_closed_on"
    response = await api.client.post(
        "/matching/reports/outcomes", content=as_csv(members, columns), headers=csv_headers(api)
    )
    assert response.status_code == 200, response.text
    assert response.json() == from_json.json()


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"", 400, "empty"),
        (b"first_name,last_name,dob,ssn\r\n", 422, "empty"),
        (b"first_name,surname\r\nAna,Lopez\r\n", 400, "unknown columns ['surname']"),
        (b"last_name,last_name\r\nLopez,Lopez\r\n", 400, "repeated columns"),
        (b"last_name,dob\r\nLopez,1980-01-01,extra\r\n", 400, "Line 2 is not a row"),
        (b"last_name\r\nL\xf3pez\r\n", 400, "not UTF-8"),
        (b'last_name\r\n"Lopez\r\n' + b"x\n" * 40_000, 400, "never ends"),
    ],
    ids=[
        "empty",
        "header only",
        "unknown column",
        "repeated",
        "ragged",
        "latin-1",
        "endless",
    ],
)
async def test_a_malformed_csv_cohort_is_refused_and_changes_nothing(
    api: MatchingApi, body: bytes, status: int, says: str
) -> None:
    response = await api.client.post("/matching/matches", content=body, headers=csv_headers(api))
    problem = assert_problem(response, status)
    assert says in json.dumps(problem)
    assert await api.count("audit_log") == 0
    assert await api.count("jobs") == 0


async def test_a_malformed_row_past_the_sync_limit_stores_no_job(
    api: MatchingApi, cohort: list[dict[str, Any]]
) -> None:
    body = as_csv(people_of(cohort)) + "Lopez,Ana\r\n"
    response = await api.client.post(
        "/matching/matches", content=chunks_of(body, 50), headers=csv_headers(api)
    )
    assert_problem(response, 400)
    assert await api.count("jobs") == await api.count("job_chunks") == 0


async def test_a_cohort_needs_json_or_csv(api: MatchingApi) -> None:
    response = await api.client.post(
        "/matching/matches",
        content=b"last_name\nLopez\n",
        headers={**api.utility, "content-type": "text/plain"},
    )
    assert_problem(response, 415)


async def test_a_cohort_larger_than_a_job_is_refused_and_stores_nothing(api: MatchingApi) -> None:
    people = [{"last_name": "Lopez", "first_name": f"Ana{'a' * (i % 7)}"} for i in range(41)]
    response = await api.client.post(
        "/matching/matches", content=as_csv(people), headers=csv_headers(api)
    )
    problem = assert_problem(response, 422)
    assert "at most 40 people per job" in problem["detail"]
    assert await api.count("jobs") == await api.count("job_chunks") == 0


async def test_a_csv_body_over_the_bulk_limit_is_refused(
    api: MatchingApi, settings: Settings
) -> None:
    async with running(settings, bulk_body_bytes=2048) as small:
        body = as_csv([{"last_name": "Lopez", "first_name": "Ana"}] * 40)
        body += "x" * 2048
        response = await small.post("/matching/matches", content=body, headers=csv_headers(api))
    assert_problem(response, 413)
    assert await api.count("jobs") == 0


# Jobs


async def test_a_large_cohort_runs_as_a_job_and_answers_as_one_request_would(
    api: MatchingApi, cohort: list[dict[str, Any]], settings: Settings
) -> None:
    people = people_of(cohort)
    expected = await api.match(*people[:SYNC_LIMIT])
    response = await api.client.post(
        "/matching/matches", content=chunks_of(as_csv(people)), headers=csv_headers(api)
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/matching/jobs/{job['id']}"
    assert (job["status"], job["total"], job["done"], job["results"]) == ("queued", 13, 0, None)
    assert await api.count("job_chunks") == 4  # 4 + 4 + 4 + 1 people

    progress: list[int] = []
    async with working(settings) as replica:
        done = await wait_for(
            replica,
            response.headers["location"],
            api.utility,
            lambda job: progress.append(job["done"]) or finished(job),
        )
    assert done["status"] == "done", done
    assert done["done"] == 13
    assert progress == sorted(progress)
    assert done["expires_at"] > done["finished_at"]
    assert await api.count("job_chunks") == 0  # the input is gone once matched

    page = await api.client.get(done["results"], params={"limit": 3}, headers=api.utility)
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (13, 3, 0)
    assert [item["index"] for item in body["items"]] == [0, 1, 2]
    everything = []
    for offset in range(0, 13, 5):
        page = await api.client.get(
            done["results"], params={"limit": 5, "offset": offset}, headers=api.utility
        )
        everything += page.json()["items"]
    assert [item.pop("index") for item in everything] == list(range(13))
    assert everything[:SYNC_LIMIT] == expected
    assert everything == await api.match(*people[:5]) + await api.match(*people[5:10]) + (
        await api.match(*people[10:])
    )

    # One audit row for the whole job, counting every person; no identifiers.
    audit = (await api.client.get("/matching/audit", headers=api.admin)).json()["items"]
    job_row = next(row for row in audit if row["people"] == 13)
    assert job_row["subject"] == "utility-1"
    assert job_row["matched"] == sum(
        bool(r["complete_matches"] or r["partial_matches"]) for r in everything
    )


async def test_a_done_job_downloads_as_one_csv(
    api: MatchingApi, cohort: list[dict[str, Any]], settings: Settings
) -> None:
    location = await submit(api, people_of(cohort))
    async with working(settings) as replica:
        await wait_for(replica, location, api.utility, finished)
    results = (
        await api.client.get(f"{location}/results", params={"limit": 200}, headers=api.utility)
    ).json()["items"]
    response = await api.client.get(f"{location}/results.csv", headers=api.utility)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(response.text)))
    expected = [
        (str(r["index"]), kind, m["enrollment_id"])
        for r in results
        for kind, m in [("complete", m) for m in r["complete_matches"]]
        + [("partial", m) for m in r["partial_matches"]]
    ]
    assert [
        (line["index"], line["match"], line["enrollment_id"])
        for line in lines
        if line["match"] != "none"
    ] == expected
    every_index = {line["index"] for line in lines}
    assert every_index == {str(i) for i in range(13)}


async def test_results_wait_for_the_job_to_be_done(
    api: MatchingApi, cohort: list[dict[str, Any]]
) -> None:
    location = await submit(api, people_of(cohort))
    assert_problem(await api.client.get(f"{location}/results", headers=api.utility), 409)
    assert_problem(await api.client.get(f"{location}/results.csv", headers=api.utility), 409)


async def test_a_large_outcome_report_runs_as_a_job(
    api: MatchingApi, cohort: list[dict[str, Any]], settings: Settings
) -> None:
    response = await api.client.post(
        "/matching/reports/outcomes", json={"cohort": cohort}, headers=api.utility
    )
    assert response.status_code == 202, response.text
    async with working(settings) as replica:
        job = await wait_for(replica, response.headers["location"], api.utility, finished)
    assert job["status"] == "done"
    assert job["report"]["cohort_size"] == 13
    assert job["results"] is None
    assert await api.count("job_results") == 0  # only the report is kept
    async with running(settings, max_people_per_request=100) as large:
        at_once = await large.post(
            "/matching/reports/outcomes", json={"cohort": cohort}, headers=api.utility
        )
    assert at_once.status_code == 200
    assert job["report"] == at_once.json()
    assert_problem(
        await api.client.get(f"{response.headers['location']}/results", headers=api.utility), 409
    )


async def test_a_job_is_its_owners_alone(
    api: MatchingApi, cohort: list[dict[str, Any]], settings: Settings
) -> None:
    location = await submit(api, people_of(cohort))
    async with working(settings) as replica:
        await wait_for(replica, location, api.utility, finished)
    others = [
        api.tokens.auth("utility-2", ["utility"]),  # the same role
        api.admin,
    ]
    for other in others:
        for url in (location, f"{location}/results", f"{location}/results.csv"):
            assert_problem(await api.client.get(url, headers=other), 404)
        assert_problem(await api.client.delete(location, headers=other), 404)
        listed = (await api.client.get("/matching/jobs", headers=other)).json()
        assert listed["total"] == 0
    unknown = f"/matching/jobs/{uuid.uuid4()}"
    assert_problem(await api.client.get(unknown, headers=api.utility), 404)
    assert_problem(await api.client.get(location, headers=api.provider()), 403)
    assert (await api.client.get(location, headers=api.utility)).status_code == 200


async def test_the_owner_lists_and_deletes_a_job(
    api: MatchingApi, cohort: list[dict[str, Any]]
) -> None:
    location = await submit(api, people_of(cohort))
    listed = (await api.client.get("/matching/jobs", headers=api.utility)).json()
    assert [f"/matching/jobs/{job['id']}" for job in listed["items"]] == [location]
    response = await api.client.delete(location, headers=api.utility)
    assert response.status_code == 204
    assert_problem(await api.client.get(location, headers=api.utility), 404)
    assert await api.count("jobs") == await api.count("job_chunks") == 0


async def test_a_jobs_input_is_sealed_and_names_no_one(
    api: MatchingApi, cohort: list[dict[str, Any]]
) -> None:
    people = people_of(cohort)
    await submit(api, people)
    stored = await api.table_text("job_chunks") + await api.table_text("jobs")
    for person in people:
        assert person["ssn"] not in stored
        assert person["last_name"] not in stored
        assert person["last_name"].encode().hex() not in stored


async def test_a_job_queued_when_the_service_stops_runs_after_the_restart(
    api: MatchingApi, cohort: list[dict[str, Any]], settings: Settings
) -> None:
    async with running(settings) as first:  # its worker sleeps: it stops with the job queued
        response = await first.post(
            "/matching/matches", json={"people": people_of(cohort)}, headers=api.utility
        )
        assert response.status_code == 202
    async with working(settings) as second:
        job = await wait_for(second, response.headers["location"], api.utility, finished)
    assert (job["status"], job["done"]) == ("done", 13)


async def test_a_job_stopped_mid_step_is_resumed_by_the_next_process(
    api: MatchingApi,
    cohort: list[dict[str, Any]],
    settings: Settings,
    admin_engine: AsyncEngine,
    app: FastAPI,
) -> None:
    location = await submit(api, people_of(cohort))
    database = app.state.db
    assert await JobWorker(database, settings).step()  # one chunk done, three to go
    assert await api.count("job_results") == CHUNK

    async with admin_engine.connect() as blocker:
        # The next step claims the job and then waits on this lock inside its candidate search.
        await blocker.execute(text("LOCK TABLE matching.enrollments IN ACCESS EXCLUSIVE MODE"))
        async with working(settings) as first:
            await _until_a_step_waits_on_a_lock(admin_engine)
            job = (await first.get(location, headers=api.utility)).json()
            assert (job["status"], job["done"]) == ("running", CHUNK)
        # The process is gone mid-step: its transaction rolled back, nothing half-written.
        await blocker.rollback()
    assert await api.count("job_results") == CHUNK
    assert await api.count("job_chunks") == 3

    async with working(settings) as second:
        job = await wait_for(second, location, api.utility, finished)
    assert (job["status"], job["done"]) == ("done", 13)
    numbers = await _result_numbers(admin_engine)
    assert numbers == list(range(13))


async def _until_a_step_waits_on_a_lock(engine: AsyncEngine) -> None:
    """Until a transaction waits for the lock on enrollments (a step, in its candidate search)."""
    async with asyncio.timeout(10), engine.connect() as connection:
        while True:
            waiting = await connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted "
                    "AND relation = 'matching.enrollments'::regclass"
                )
            )
            if waiting.scalar_one():
                return
            await asyncio.sleep(0.02)


async def _result_numbers(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT number FROM matching.job_results ORDER BY 1"))
        return [number for (number,) in rows]


async def test_two_workers_never_run_one_job_at_once(
    api: MatchingApi, cohort: list[dict[str, Any]], settings: Settings, app: FastAPI
) -> None:
    await submit(api, people_of(cohort))
    database = app.state.db
    async with database.driver.transaction() as one:
        claimed = await JobRunner(one, settings).claim()
        assert claimed is not None
        async with database.driver.transaction() as two:
            assert await JobRunner(two, settings).claim() is None  # skipped, not waited on
    # Workers racing over the whole job: every person answered once.
    workers = [JobWorker(database, settings) for _ in range(3)]

    async def drain(worker: JobWorker) -> None:
        while await worker.step():
            pass

    await asyncio.gather(*(drain(worker) for worker in workers))
    job = (await api.client.get("/matching/jobs", headers=api.utility)).json()["items"][0]
    assert (job["status"], job["done"]) == ("done", 13)
    assert await api.count("job_results") == 13
    assert await api.count("audit_log", "people = 13") == 1


async def test_a_job_whose_step_keeps_failing_is_marked_failed(
    api: MatchingApi, cohort: list[dict[str, Any]], settings: Settings, admin_engine: AsyncEngine
) -> None:
    location = await submit(api, people_of(cohort))
    async with admin_engine.begin() as connection:  # the input no longer opens under the key
        await connection.execute(text("UPDATE matching.job_chunks SET sealed = 'damaged'"))
    async with working(settings) as replica:
        job = await wait_for(replica, location, api.utility, finished)
    assert job["status"] == "failed"
    assert "failed repeatedly" in job["error"]
    assert await api.count("job_chunks") == await api.count("job_results") == 0
    assert await api.count("audit_log") == 0


async def test_finished_jobs_are_deleted_after_their_retention(
    api: MatchingApi,
    cohort: list[dict[str, Any]],
    settings: Settings,
    admin_engine: AsyncEngine,
    app: FastAPI,
) -> None:
    old = await submit(api, people_of(cohort))
    new = await submit(api, people_of(cohort))
    queued = await submit(api, people_of(cohort))
    database = app.state.db
    worker = JobWorker(database, settings)
    while (await api.client.get(new, headers=api.utility)).json()["status"] != "done":
        assert await worker.step()
    async with admin_engine.begin() as connection:
        await connection.execute(
            text("UPDATE matching.jobs SET finished_at = now() - interval '8 days' WHERE id = :id"),
            {"id": old.rsplit("/", 1)[1]},
        )
    assert await worker.delete_expired() == 1
    assert_problem(await api.client.get(old, headers=api.utility), 404)
    assert (await api.client.get(new, headers=api.utility)).status_code == 200
    assert (await api.client.get(queued, headers=api.utility)).json()["status"] != "done"
    assert await api.count("job_results", "job_id = :id", id=old.rsplit("/", 1)[1]) == 0


async def test_a_persons_problem_in_a_job_is_that_persons_error(
    api: MatchingApi, cohort: list[dict[str, Any]], settings: Settings
) -> None:
    people: list[Any] = [*people_of(cohort), {"last_name": "Quist"}, "not a person"]
    location = await submit(api, people)
    async with working(settings) as replica:
        job = await wait_for(replica, location, api.utility, finished)
    assert (job["status"], job["done"]) == ("done", 15)
    page = await api.client.get(f"{location}/results", params={"offset": 13}, headers=api.utility)
    lone_name, not_a_person = page.json()["items"]
    assert lone_name["error"]["title"] == "Not enough identifiers"
    assert not_a_person["error"]["errors"][0]["field"] == "person"
    assert lone_name["complete_matches"] == not_a_person["partial_matches"] == []


@pytest.mark.parametrize("settings_overrides", [{**SMALL_JOBS, "people_per_day": 10}])
async def test_a_job_larger_than_the_callers_budget_is_refused_and_stores_nothing(
    api: MatchingApi, cohort: list[dict[str, Any]]
) -> None:
    response = await api.client.post(
        "/matching/matches", json={"people": people_of(cohort)}, headers=api.utility
    )
    problem = assert_problem(response, 422)
    assert "at most 10 people per day" in json.dumps(problem)
    assert await api.count("jobs") == await api.count("job_chunks") == 0
