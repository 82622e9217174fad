"""matching: time per question beside 500,000 enrollments sharing one person's name, date of birth
and SSN (issue 15's skewed upload), one question and a batch, beside as many different people."""

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from bench.benchmarks.matching import organization_of
from bench.context import Context
from bench.report import Section, Table
from common.testing import TokenFactory
from matching.generator import Generator
from matching.matches.repository import MAX_CANDIDATES_PER_KEY

SKEWED = 500_000
ENROLLMENTS = 10_000
BATCH = 1_000
SINGLES = 20
SEED = 22
GARCIA = {"first_name": "Maria", "last_name": "Garcia", "dob": "1985-03-07", "ssn": "123-45-6789"}
TWIN = {**GARCIA, "ssn": "987-65-4321"}
"""Maria Garcia's name and date of birth with another SSN: every skewed row is a copy of it."""


@dataclass(frozen=True)
class Batch:
    label: str
    people: int
    seconds: float
    complete: int
    found: int
    """Answers holding Maria's own stay as a complete match."""


@dataclass(frozen=True)
class Figures:
    write_seconds: float
    singles: list[float]
    single_found: bool
    batches: list[Batch]


async def _post(http: httpx.AsyncClient, people: list[dict[str, Any]], headers: Any) -> Any:
    response = await http.post("/matching/matches", json={"people": people}, headers=headers)
    response.raise_for_status()
    return response.json()["results"]


def _garcia_found(result: dict[str, Any]) -> bool:
    return any(match["enrollment_id"] == "garcia" for match in result["complete_matches"])


async def _skew(database_url: str, organization_id: int) -> float:
    """SKEWED copies of the twin's row with entry dates over ten years, written by SQL (an
    upload of that many takes minutes, ``matching.py`` measures uploads), then ANALYZE."""
    started = time.perf_counter()
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            """
            INSERT INTO matching.enrollments (organization_id, client_id, enrollment_id,
                first_name, last_name, first_key, last_key, first_code, last_code, dob, ssn_hash,
                ssn_last4_hash, ssn_masked_hashes, entry_date)
            SELECT t.organization_id, 'skew-' || n, 'skew-' || n, t.first_name, t.last_name,
                t.first_key, t.last_key, t.first_code, t.last_code, t.dob, t.ssn_hash,
                t.ssn_last4_hash, t.ssn_masked_hashes, t.entry_date - n % 3650
            FROM matching.enrollments t, generate_series(1, $2::int) AS n
            WHERE t.organization_id = $1 AND t.enrollment_id = 'twin'
            """,
            organization_id,
            SKEWED,
        )
        await connection.execute("ANALYZE matching.enrollments")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def _forget(database_url: str, organization_id: int) -> None:
    """The organization's enrollments deleted: the run's database as it was for what follows."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "DELETE FROM matching.enrollments WHERE organization_id = $1", organization_id
        )
    finally:
        await connection.close()


async def _measure(base_url: str, database_url: str, tokens: TokenFactory) -> Figures:
    admin = tokens.auth("bench-admin", ["admin"])
    provider = tokens.auth("bench-skew-provider", ["provider"])
    data = Generator(SEED).dataset(clients=ENROLLMENTS, cohort=BATCH)
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        organization_id = await organization_of(http, admin, "bench-skew-provider", "bench-skew")
        first = data.enrollments[0]
        rows = [
            # Maria's stay older than every skewed one: her name's keys, capped at their most
            # recent stays, do not reach it; her date of birth and last four do.
            {**first, **GARCIA, "client_id": "garcia", "enrollment_id": "garcia"}
            | {"entry_date": "2010-01-04", "exit_date": "2010-03-01"},
            {**first, **TWIN, "client_id": "twin", "enrollment_id": "twin"}
            | {"entry_date": "2023-05-01", "exit_date": None, "exit_destination": None},
            *data.enrollments[1 : ENROLLMENTS - 1],
        ]
        uploaded = await http.post(
            "/matching/enrollments", json={"enrollments": rows}, headers=provider
        )
        uploaded.raise_for_status()
        try:
            write_seconds = await _skew(database_url, organization_id)
            await _post(http, [GARCIA, TWIN], tokens.auth("bench-skew-warmup", ["utility"]))
            single = tokens.auth("bench-skew-single", ["utility"])
            singles, single_found = [], True
            for _ in range(SINGLES):
                started = time.perf_counter()
                [result] = await _post(http, [GARCIA], single)
                singles.append(time.perf_counter() - started)
                single_found &= _garcia_found(result)
            asked = [
                {key: value for key, value in member.items() if key != "account_closed_on"}
                for member in data.cohort
            ]
            batches = []
            for label, people, subject in (
                (f"Maria Garcia {BATCH:,} times", [GARCIA] * BATCH, "bench-skew-batch"),
                ("as many different people", asked, "bench-skew-reference"),
            ):
                started = time.perf_counter()
                results = await _post(http, people, tokens.auth(subject, ["utility"]))
                seconds = time.perf_counter() - started
                complete = sum(len(result["complete_matches"]) for result in results)
                found = sum(_garcia_found(result) for result in results)
                batches.append(Batch(label, len(people), seconds, complete, found))
        finally:
            await _forget(database_url, organization_id)
    return Figures(write_seconds, singles, single_found, batches)


def run(ctx: Context) -> Section:
    tokens = TokenFactory()
    env = tokens.service_env()
    with ctx.service("matching", env=env) as matching, ctx.load_generator():
        figures = asyncio.run(_measure(matching.base_url, ctx.database_url, tokens))
    skewed, reference = figures.batches
    every = figures.single_found and skewed.found == skewed.people
    found = "a complete match in every" if every else "NOT a complete match in every"
    single_ms = statistics.median(figures.singles) * 1000
    single_p95_ms = statistics.quantiles(figures.singles, n=20)[-1] * 1000
    return Section(
        title="matching: time per question beside 500,000 skewed enrollments",
        method=(
            "The matching service runs as one uvicorn worker with its default settings. Beside "
            "what the run's database already holds, a provider uploads "
            f"{ENROLLMENTS:,} enrollments: {ENROLLMENTS - 2:,} generated ones (seed {SEED}), "
            "Maria Garcia (born 1985-03-07, SSN ending 6789, a stay in 2010) and her twin (the "
            "same name and date of birth, SSN ending 4321); then "
            f"{SKEWED:,} copies of the twin, entry dates spread over the ten years to May 2023, "
            "are written by SQL (INSERT ... SELECT FROM generate_series, then ANALYZE; the time "
            "is in the table), like issue 15's upload of 772,078 rows sharing one name and date "
            "of birth. Three of Maria's keys (her names; her date of birth with either name) are "
            f"then the skewed rows' and each gives its {MAX_CANDIDATES_PER_KEY:,} most recent "
            "stays (MAX_CANDIDATES_PER_KEY); her own stay is found by her date of birth and last "
            "four. A utility asks about Maria alone "
            f"{SINGLES} times, one request after another (after a warm-up); another asks about "
            f"her {BATCH:,} times in one POST /matching/matches (the same person: the probe guard "
            f"admits repeats, not variants), each question at the cap; a third asks {BATCH:,} "
            "different people (the generator's cohort), whose keys are not the skewed ones. "
            "Times are client-side; the skewed rows are deleted afterwards."
        ),
        summary=(
            f"Beside {SKEWED:,} skewed rows one question about Maria took {single_ms:.0f} ms "
            f"(median of {SINGLES}, p95 {single_p95_ms:.0f} ms); {skewed.people:,} questions at "
            f"the cap took {skewed.seconds:.2f} s ({skewed.seconds / skewed.people * 1000:.1f} "
            f"ms per question), {reference.people:,} different people "
            f"{reference.seconds:.2f} s ({reference.seconds / reference.people * 1000:.1f} ms "
            f"per question). Maria's own stay was {found} answer asking about her."
        ),
        tables=[
            Table(
                columns=("measure", "value"),
                rows=[
                    (
                        f"{SKEWED:,} skewed rows written and analyzed (s)",
                        f"{figures.write_seconds:.1f}",
                    ),
                    ("one question about Maria, median (ms)", f"{single_ms:.1f}"),
                    ("one question about Maria, p95 (ms)", f"{single_p95_ms:.1f}"),
                ],
            ),
            Table(
                columns=("request", "people", "seconds", "ms per question", "complete matches"),
                rows=[
                    (
                        batch.label,
                        f"{batch.people:,}",
                        f"{batch.seconds:.2f}",
                        f"{batch.seconds / batch.people * 1000:.1f}",
                        f"{batch.complete:,}",
                    )
                    for batch in figures.batches
                ],
            ),
        ],
    )
