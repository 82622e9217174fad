"""matching: bulk ingestion, 10,000 people matched through the HTTP API, precision and recall."""

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from bench.context import Context
from bench.report import Section, Table
from common.testing import TokenFactory
from matching.config import Settings
from matching.generator import Generator, SyntheticData
from matching.names import name_key, phonetic_code

ENROLLMENTS = int(os.environ.get("MATCHING_BENCH_ENROLLMENTS", "1000000"))
PEOPLE = 10_000
UPLOAD_ROWS = 10_000
SEED = 20
SPLINK_THRESHOLD = 0.9


@dataclass(frozen=True)
class Quality:
    label: str
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
        return 2 * self.precision * self.recall / (self.precision + self.recall)


@dataclass(frozen=True)
class Figures:
    rows: int
    upload_seconds: float
    match_seconds: float
    peak_rss_mib: float
    qualities: list[Quality]


@dataclass(frozen=True)
class SplinkFigures:
    seconds: float
    peak_rss_mib: float
    quality: Quality


def run(ctx: Context) -> Section:
    data = _dataset()
    tokens = TokenFactory()
    env = tokens.service_env()
    with ctx.service("matching", env=env) as matching, ctx.load_generator():
        figures = asyncio.run(_measure(matching.base_url, tokens, data))
    with ctx.load_generator():
        splink = _splink(ctx.results_dir, data)
    return Section(
        title="matching: ingestion, 10,000 people matched, precision and recall",
        method=_method(),
        summary=(
            f"Ingestion {figures.rows / figures.upload_seconds:,.0f} rows/s; "
            f"{PEOPLE:,} people matched against {figures.rows:,} enrollments in "
            f"{figures.match_seconds:.1f} s (service peak RSS {figures.peak_rss_mib:,.0f} MiB); "
            + "; ".join(
                f"{q.label}: precision {q.precision:.4f}, recall {q.recall:.4f}"
                for q in figures.qualities
            )
            + f". Splink on DuckDB, same records: {splink.seconds:.1f} s with training, peak RSS "
            f"{splink.peak_rss_mib:,.0f} MiB, precision {splink.quality.precision:.4f}, recall "
            f"{splink.quality.recall:.4f}."
        ),
        tables=[
            _timing_table(figures, splink),
            _quality_table([*figures.qualities, splink.quality]),
        ],
    )


def _dataset() -> SyntheticData:
    clients = int(ENROLLMENTS / 1.6)
    data = Generator(SEED).dataset(clients=clients, cohort=PEOPLE, linked_share=0.5)
    data.enrollments = data.enrollments[:ENROLLMENTS]
    kept = {row["enrollment_id"] for row in data.enrollments}
    data.links = [links & kept for links in data.links]
    return data


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


async def _measure(base_url: str, tokens: TokenFactory, data: SyntheticData) -> Figures:
    admin = tokens.auth("bench-admin", ["admin"])
    provider = tokens.auth("bench-provider", ["provider"])
    utility = tokens.auth("bench-utility", ["utility"])
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        await organization_of(http, admin, "bench-provider", "bench")
        started = time.perf_counter()
        for start in range(0, len(data.enrollments), UPLOAD_ROWS):
            rows = data.enrollments[start : start + UPLOAD_ROWS]
            uploaded = await http.post(
                "/matching/enrollments", json={"enrollments": rows}, headers=provider
            )
            uploaded.raise_for_status()
        upload_seconds = time.perf_counter() - started
        await http.post("/matching/matches", json={"people": _people(data)[:50]}, headers=utility)
        started = time.perf_counter()
        matched = await http.post(
            "/matching/matches", json={"people": _people(data)}, headers=utility
        )
        match_seconds = time.perf_counter() - started
        matched.raise_for_status()
        peak = _peak_rss_mib(base_url)
    results = matched.json()["results"]
    return Figures(
        rows=len(data.enrollments),
        upload_seconds=upload_seconds,
        match_seconds=match_seconds,
        peak_rss_mib=peak,
        qualities=_qualities(results, data),
    )


def _people(data: SyntheticData) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in member.items() if key != "account_closed_on"}
        for member in data.cohort
    ]


def _qualities(results: list[dict[str, Any]], data: SyntheticData) -> list[Quality]:
    links = sum(len(truth) for truth in data.links)
    qualities = []
    for label, lists in (
        ("complete matches", ("complete_matches",)),
        ("complete and partial", ("complete_matches", "partial_matches")),
    ):
        predicted = correct = 0
        for result, truth in zip(results, data.links, strict=True):
            found = {match["enrollment_id"] for name in lists for match in result[name]}
            predicted += len(found)
            correct += len(found & truth)
        qualities.append(Quality(label, predicted, correct, links))
    return qualities


def _peak_rss_mib(base_url: str) -> float:
    """The service's peak resident memory (VmHWM), found by the port it listens on."""
    port = int(base_url.rsplit(":", 1)[1])
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.pid:
            status = Path(f"/proc/{connection.pid}/status").read_text()
            line = next(line for line in status.splitlines() if line.startswith("VmHWM"))
            return int(line.split()[1]) / 1024
    return float("nan")


def _method() -> str:
    settings = Settings()
    return (
        "The matching service runs as one uvicorn worker with its default settings (partial "
        f"matches from {settings.partial_min_weight:g} bits, at most "
        f"{settings.max_partial_matches} per person). The generator (`matching generate`, seed "
        f"{SEED}) makes {ENROLLMENTS:,} enrollments of about {int(ENROLLMENTS / 1.6):,} clients "
        f"(1 to 3 enrollments each) and a cohort of {PEOPLE:,} ex-customers, half of them "
        "clients, half of the cohort with one or two errors (typos, swapped names, nicknames, "
        "compound names, formatting, missing fields, day/month swaps, wrong year digit, last "
        "four of the SSN only, a wrong or transposed SSN digit). A provider uploads the "
        f"enrollments as JSON, {UPLOAD_ROWS:,} rows per request, one after another; then a "
        f"utility asks for all {PEOPLE:,} people in one POST /matching/matches (after a warm-up "
        "of 50). Precision and recall count (person, enrollment) pairs against the "
        "generator's true links. Set MATCHING_BENCH_ENROLLMENTS for another table size."
    )


def _timing_table(figures: Figures, splink: SplinkFigures) -> Table:
    return Table(
        columns=("measure", "value"),
        rows=[
            ("enrollments uploaded", f"{figures.rows:,}"),
            ("upload time (s)", f"{figures.upload_seconds:.1f}"),
            ("ingestion (rows/s)", f"{figures.rows / figures.upload_seconds:,.0f}"),
            (f"{PEOPLE:,} people matched through the API (s)", f"{figures.match_seconds:.2f}"),
            ("service peak RSS (MiB)", f"{figures.peak_rss_mib:,.0f}"),
            (f"Splink, {PEOPLE:,} people, training included (s)", f"{splink.seconds:.2f}"),
            ("Splink process peak RSS (MiB)", f"{splink.peak_rss_mib:,.0f}"),
        ],
    )


def _quality_table(qualities: list[Quality]) -> Table:
    return Table(
        columns=("answer", "pairs answered", "correct", "true links", "precision", "recall", "F1"),
        rows=[
            (
                quality.label,
                f"{quality.predicted:,}",
                f"{quality.correct:,}",
                f"{quality.links:,}",
                f"{quality.precision:.4f}",
                f"{quality.recall:.4f}",
                f"{quality.f1:.4f}",
            )
            for quality in qualities
        ],
    )


def _splink_rows(rows: list[dict[str, Any]], prefix: str | None) -> pa.Table:
    """Splink's input: names normalized and blocking codes made as matching makes them."""
    records = []
    for number, row in enumerate(rows):
        first, last = name_key(row.get("first_name")), name_key(row["last_name"])
        ssn = row["ssn"].replace("-", "").replace(" ", "") if row.get("ssn") else None
        records.append(
            {
                "uid": f"{prefix}{number}" if prefix else row["enrollment_id"],
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


def _splink(results_dir: Path, data: SyntheticData) -> SplinkFigures:
    """Splink in its own process (its peak memory is its own), on the same records."""
    folder = results_dir / "splink"
    folder.mkdir(exist_ok=True)
    pq.write_table(_splink_rows(data.enrollments, None), folder / "records.parquet")
    pq.write_table(_splink_rows(data.cohort, "Q"), folder / "questions.parquet")
    done = subprocess.run(
        [sys.executable, "-m", "bench.splink_link", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    pairs = json.loads((folder / "splink_pairs.json").read_text())
    truth = {(f"Q{number}", uid) for number, links in enumerate(data.links) for uid in links}
    found = {(left, right) if left.startswith("Q") else (right, left) for left, right in pairs}
    quality = Quality(
        f"Splink, match probability >= {SPLINK_THRESHOLD}",
        len(found),
        len(found & truth),
        len(truth),
    )
    return SplinkFigures(figures["seconds"], figures["peak_rss_mib"], quality)
