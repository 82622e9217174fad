"""wrk, the HTTP load generator: run it with ``--latency`` and read its report."""

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.report import Table

PERCENTILES = (50, 75, 90, 99)
_SECONDS_PER_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TIME = r"([\d.]+)(us|ms|s|m|h)"


@dataclass(frozen=True)
class WrkResult:
    url: str
    connections: int
    threads: int
    seconds: float
    requests: int
    requests_per_second: float
    latency: dict[int, float]
    """Seconds at each of wrk's percentiles (50, 75, 90, 99)."""
    socket_errors: int
    non_2xx_3xx: int

    def ms(self, percentile: int) -> float:
        return self.latency[percentile] * 1000


def require() -> str:
    """wrk's version line; fails with the way to install it when it is missing."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: `apt-get install -y wrk` (make bench does it)")
    # wrk prints its version followed by the usage text and exits with 1.
    output = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return output.stdout.splitlines()[0].split(" Copyright")[0]


def run(
    url: str,
    *,
    connections: int,
    duration: int,
    threads: int,
    command_prefix: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    script: Path | None = None,
    script_args: Sequence[str] = (),
) -> tuple[WrkResult, str]:
    """Load ``url`` for ``duration`` seconds; returns the parsed result and wrk's raw report.

    ``script`` is a Lua script making the requests (POST bodies), given ``script_args``.
    """
    command = [
        *command_prefix,
        "wrk",
        "--latency",
        f"--connections={connections}",
        f"--threads={threads}",
        f"--duration={duration}s",
        *(f"--header={name}: {value}" for name, value in (headers or {}).items()),
        *([f"--script={script}"] if script else []),
        url,
        *(["--", *script_args] if script_args else []),
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout
    return parse(output, url=url, connections=connections, threads=threads), output


def parse(output: str, *, url: str, connections: int, threads: int) -> WrkResult:
    """Read the figures out of wrk's text report (run with ``--latency``)."""
    totals = _search(rf"(\d+) requests in {_TIME}", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx_3xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        url=url,
        connections=connections,
        threads=threads,
        seconds=_seconds(totals[1], totals[2]),
        requests=int(totals[0]),
        requests_per_second=float(_search(r"Requests/sec:\s+([\d.]+)", output)[0]),
        latency={p: _seconds(*_search(rf"^\s+{p}%\s+{_TIME}\s*$", output)) for p in PERCENTILES},
        socket_errors=sum(map(int, socket_errors.groups())) if socket_errors else 0,
        non_2xx_3xx=int(non_2xx_3xx[1]) if non_2xx_3xx else 0,
    )


def _search(pattern: str, output: str) -> tuple[str, ...]:
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise ValueError(f"no {pattern!r} in wrk's output:\n{output}")
    return match.groups()


def _seconds(value: str, unit: str) -> float:
    return float(value) * _SECONDS_PER_UNIT[unit]


def table(results: Sequence[WrkResult]) -> Table:
    """One row per wrk run: connections, throughput, latency percentiles and errors."""
    return Table(
        columns=(
            "connections",
            "wrk threads",
            "requests",
            "requests/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "socket errors",
            "non-2xx/3xx",
        ),
        rows=[
            (
                str(r.connections),
                str(r.threads),
                f"{r.requests:,}",
                f"{r.requests_per_second:,.0f}",
                f"{r.ms(50):.2f}",
                f"{r.ms(90):.2f}",
                f"{r.ms(99):.2f}",
                str(r.socket_errors),
                str(r.non_2xx_3xx),
            )
            for r in results
        ],
    )
