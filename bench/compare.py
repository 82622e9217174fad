"""Side-by-side wrk runs: URLs loaded in alternation, so a busy neighbour slows each alike.

On a shared machine one run of A then one of B compares two moments more than A and B; rounds
of A, B, A, B, ... and the median of each keep the ratio honest.
"""

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.context import Context
from bench.cpu import cpu_seconds
from bench.report import Table
from bench.wrk import WrkResult


@dataclass(frozen=True)
class Comparison:
    """Every round's result per label, at one connection count."""

    connections: int
    runs: Mapping[str, Sequence[WrkResult]]
    cpu: Mapping[str, Sequence[float]] = field(default_factory=dict)
    """CPU seconds the label's process used in each round (when its pid was given)."""
    next_number: int = 0
    """The first request number a script has not used yet."""

    def median(self, label: str) -> float:
        """Median requests/s of ``label``'s rounds."""
        return statistics.median(r.requests_per_second for r in self.runs[label])

    def ratio(self, label: str, baseline: str) -> float:
        return self.median(label) / self.median(baseline)

    def cpu_ms_per_request(self, label: str) -> float:
        """Median over the rounds of the process's CPU time per request, in milliseconds."""
        return statistics.median(
            1000 * seconds / max(1, run.requests)
            for seconds, run in zip(self.cpu[label], self.runs[label], strict=True)
        )

    def errors(self, label: str) -> int:
        return sum(r.non_2xx_3xx + r.socket_errors for r in self.runs[label])


def alternate(
    ctx: Context,
    urls: Mapping[str, str],
    *,
    connections: int,
    rounds: int,
    duration: int,
    headers: Mapping[str, str] | None = None,
    pids: Mapping[str, int] | None = None,
    script: Path | None = None,
    first_number: int = 0,
) -> Comparison:
    """``rounds`` wrk runs of each URL, taking turns.

    With ``pids`` (label -> process id) each round also reads that process's CPU time. A
    ``script`` (``lua.numbered``) gets request numbers from ``first_number`` on, never one twice
    across the rounds.
    """
    runs: dict[str, list[WrkResult]] = {label: [] for label in urls}
    cpu: dict[str, list[float]] = {label: [] for label in pids or {}}
    number, threads = first_number, ctx.wrk_threads(connections)
    for round_number in range(1, rounds + 1):
        for label, url in urls.items():
            name = f"{label.replace(' ', '-')}-c{connections}-r{round_number}"
            pid = (pids or {}).get(label)
            before = cpu_seconds(pid) if pid else 0.0
            result = ctx.wrk(
                url,
                connections=connections,
                duration=duration,
                label=name,
                headers=headers,
                script=script,
                script_args=(str(number), str(threads)) if script else (),
            )
            if pid:
                cpu[label].append(cpu_seconds(pid) - before)
            runs[label].append(result)
            # requests still in flight when wrk stopped were numbered too
            number += result.requests + connections + threads + 1
    return Comparison(connections, runs, cpu, number)


def table(comparisons: Sequence[Comparison], baseline: str) -> Table:
    """One row per label and connection count: medians, spread, errors, share of ``baseline``."""
    rows = []
    for comparison in comparisons:
        for label, results in comparison.runs.items():
            rates = [r.requests_per_second for r in results]
            share = "" if label == baseline else f"{comparison.ratio(label, baseline):.0%}"
            rows.append(
                (
                    label,
                    str(comparison.connections),
                    f"{comparison.median(label):,.0f}",
                    f"{min(rates):,.0f}-{max(rates):,.0f}",
                    f"{statistics.median(r.ms(50) for r in results):.2f}",
                    f"{statistics.median(r.ms(99) for r in results):.2f}",
                    str(comparison.errors(label)),
                    share,
                )
            )
    columns = (
        "",
        "connections",
        "requests/s (median)",
        "requests/s (range)",
        "p50 ms",
        "p99 ms",
        "errors",
        f"of {baseline}",
    )
    return Table(columns=columns, rows=rows)


def ratios_sentence(comparisons: Sequence[Comparison], label: str, baseline: str) -> str:
    """``96% at 1 connection, 93% at 32 connections``."""
    return ", ".join(
        f"{c.ratio(label, baseline):.0%} at {c.connections} connection{'s' * (c.connections > 1)}"
        for c in comparisons
    )
