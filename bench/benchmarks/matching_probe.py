"""matching: time to refuse the issue's SSN probe (9,990 questions about one person), in one
request and spread over many, beside as many different people answered."""

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.benchmarks.matching import organization_of
from bench.context import Context
from bench.report import Section, Table
from common.testing import TokenFactory
from matching.config import Settings
from matching.generator import Generator

GARCIA = {"first_name": "Maria", "last_name": "Garcia", "dob": "1985-03-07", "ssn": "123-45-6789"}
PROBE = [
    {"first_name": "Maria", "last_name": "Garcia", "ssn": f"{n:04d}"} for n in range(10, 10_000)
]
ENROLLMENTS = 10_000
SPREAD_REQUESTS = 100
SPREAD_SIZE = 10
SEED = 21


@dataclass(frozen=True)
class Batch:
    label: str
    people: int
    seconds: float
    answered: int
    complete: int


async def _post(http: httpx.AsyncClient, people: list[dict[str, Any]], headers: Any) -> Any:
    response = await http.post("/matching/matches", json={"people": people}, headers=headers)
    response.raise_for_status()
    return response.json()["results"]


async def _timed(
    http: httpx.AsyncClient, label: str, people: list[dict[str, Any]], headers: Any
) -> Batch:
    started = time.perf_counter()
    results = await _post(http, people, headers)
    seconds = time.perf_counter() - started
    return Batch(
        label,
        len(people),
        seconds,
        answered=sum(result["error"] is None for result in results),
        complete=sum(bool(result["complete_matches"]) for result in results),
    )


async def _measure(base_url: str, tokens: TokenFactory) -> tuple[list[Batch], list[float], int]:
    admin = tokens.auth("bench-admin", ["admin"])
    provider = tokens.auth("bench-probe-provider", ["provider"])
    data = Generator(SEED).dataset(clients=ENROLLMENTS // 2, cohort=len(PROBE))
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        await organization_of(http, admin, "bench-probe-provider", "bench-probe")
        rows = [
            {**data.enrollments[0], **GARCIA, "client_id": "probe", "enrollment_id": "probe"},
            *data.enrollments[1:ENROLLMENTS],
        ]
        uploaded = await http.post(
            "/matching/enrollments", json={"enrollments": rows}, headers=provider
        )
        uploaded.raise_for_status()
        await _post(http, PROBE[:3], tokens.auth("bench-warmup", ["utility"]))
        asked = [
            {key: value for key, value in member.items() if key != "account_closed_on"}
            for member in data.cohort
        ]
        batches = [
            await _timed(
                http, "the probe, one request", PROBE, tokens.auth("bench-prober", ["utility"])
            ),
            await _timed(
                http, "as many different people", asked, tokens.auth("bench-asker", ["utility"])
            ),
        ]
        spread_caller = tokens.auth("bench-prober-spread", ["utility"])
        latencies, answered = [], 0
        for start in range(0, SPREAD_REQUESTS * SPREAD_SIZE, SPREAD_SIZE):
            batch = await _timed(http, "", PROBE[start : start + SPREAD_SIZE], spread_caller)
            latencies.append(batch.seconds)
            answered += batch.answered
    return batches, latencies, answered


def run(ctx: Context) -> Section:
    tokens = TokenFactory()
    env = tokens.service_env()
    with ctx.service("matching", env=env) as matching, ctx.load_generator():
        batches, latencies, spread_answered = asyncio.run(_measure(matching.base_url, tokens))
    probe, reference = batches
    settings = Settings()
    median_ms = statistics.median(latencies) * 1000
    p95_ms = statistics.quantiles(latencies, n=20)[-1] * 1000
    return Section(
        title="matching: time to refuse the SSN probe",
        method=(
            "The matching service runs as one uvicorn worker with its default probe limits "
            f"({settings.max_ssn_variants} SSNs and {settings.max_dob_variants} dates of birth "
            f"per person, {settings.max_variants_per_name} per name, within "
            f"{settings.probe_window_seconds // 86_400} days). Beside what the run's database "
            f"already holds, a provider uploads {ENROLLMENTS:,} generated enrollments (seed "
            f"{SEED}), one of them Maria Garcia. A utility sends the issue's probe: "
            f'{len(PROBE):,} people "Maria Garcia" with the last fours 0010 to 9999 in one '
            "POST /matching/matches; another utility sends as many different people (the "
            "generator's cohort) in one request, the reference; a third sends the probe's first "
            f"{SPREAD_REQUESTS * SPREAD_SIZE:,} questions in {SPREAD_REQUESTS} requests of "
            f"{SPREAD_SIZE}, one after another. Times are client-side, one run each."
        ),
        summary=(
            f"The {len(PROBE):,}-person probe was answered for {probe.answered} and refused for "
            f"{probe.people - probe.answered:,} in {probe.seconds:.2f} s "
            f"({probe.complete} complete matches); {reference.people:,} different people took "
            f"{reference.seconds:.2f} s. Spread over {SPREAD_REQUESTS} requests, "
            f"{spread_answered} questions were answered in all; median {median_ms:.0f} ms, "
            f"p95 {p95_ms:.0f} ms per request."
        ),
        tables=[
            Table(
                columns=("request", "people", "answered", "complete matches", "seconds"),
                rows=[
                    (
                        batch.label,
                        f"{batch.people:,}",
                        f"{batch.answered:,}",
                        f"{batch.complete:,}",
                        f"{batch.seconds:.2f}",
                    )
                    for batch in batches
                ],
            )
        ],
    )
