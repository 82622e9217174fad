"""``python -m bench [NAME ...]``: run the benchmark modules and write their report.

With no names every module runs and the report is ``bench/REPORT.md`` (committed); with names only
those run and the report goes to ``bench/results/REPORT.md``, leaving the committed one alone.

A benchmark is a module in ``bench/benchmarks/`` with ``run(ctx: Context) -> Section``; modules
run in alphabetical order. A failing benchmark becomes a section saying so, and the exit status
is 1.
"""

import importlib
import pkgutil
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import benchmarks, machine, wrk
from bench.context import Context, Placement
from bench.report import Section, render
from bench.services import database

BENCH_DIR = Path(__file__).resolve().parent
REPORT = BENCH_DIR / "REPORT.md"
PLOTS = BENCH_DIR / "plots"
RESULTS = BENCH_DIR / "results"

Benchmark = Callable[[Context], Section]


def discover(only: list[str]) -> dict[str, Benchmark]:
    """Each module's name and its ``run`` function (those in ``only`` when it names any)."""
    names = sorted(module.name for module in pkgutil.iter_modules(benchmarks.__path__))
    unknown = set(only) - set(names)
    if unknown:
        raise SystemExit(f"no benchmark named {', '.join(sorted(unknown))}; there are {names}")
    names = [name for name in names if not only or name in only]
    return {name: importlib.import_module(f"{benchmarks.__name__}.{name}").run for name in names}


def main() -> int:
    only = sys.argv[1:]
    selected = discover(only)
    report = RESULTS / "REPORT.md" if only else REPORT
    wrk_version = wrk.require()
    placement = Placement.split()
    started = datetime.now(UTC)
    clock = machine.CpuClock.read()
    revision = machine.git_revision()
    for folder in (RESULTS, PLOTS):
        if not only:
            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    with database() as db, tempfile.TemporaryDirectory(prefix="bench-data-") as data_dir:
        machine_table = machine.describe(
            placement=placement.describe(), database=db, wrk_version=wrk_version
        )
        sections, failures = _run_all(selected, db.url, Path(data_dir), placement)
    header = _header(started, revision, start=clock, end=machine.CpuClock.read())
    report.write_text(
        render(header=header, machine=machine_table, sections=sections, report_dir=BENCH_DIR)
    )
    print(f"wrote {report}", file=sys.stderr)
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


def _header(
    started: datetime, revision: str, *, start: machine.CpuClock, end: machine.CpuClock
) -> str:
    minutes, seconds = divmod(round(end.wall - start.wall), 60)
    return (
        f"Written by `make bench` on {started:%Y-%m-%d %H:%M} UTC at commit {revision}; "
        f"the run took {minutes} min {seconds} s. Every figure below comes from that one run; "
        "wrk's raw output and the services' logs are in `bench/results/` (not committed). "
        "While it ran, other processes (the embedded PostgreSQL and the hypervisor's steal "
        f"included) used {end.others_since(start):.0%} of the machine's CPU time; the more they "
        "used, the lower and noisier the figures are than on an idle machine."
    )


def _run_all(
    selected: dict[str, Benchmark], database_url: str, data_dir: Path, placement: Placement
) -> tuple[list[Section], list[str]]:
    """Every benchmark's section, and the names of those that failed."""
    migrated: set[tuple[str, str]] = set()
    sections, failures = [], []
    for name, run in selected.items():
        print(f"bench: {name}", file=sys.stderr, flush=True)
        context = Context(
            name=name,
            database_url=database_url,
            data_dir=data_dir,
            results_dir=RESULTS / name,
            plots_dir=PLOTS,
            placement=placement,
            migrated=migrated,
        )
        shutil.rmtree(context.results_dir, ignore_errors=True)
        context.results_dir.mkdir()
        try:
            sections.append(run(context))
        except Exception as exc:
            (context.results_dir / "error.txt").write_text(traceback.format_exc())
            traceback.print_exc()
            failures.append(name)
            sections.append(_failed(name, exc))
    return sections, failures


def _failed(name: str, exc: Exception) -> Section:
    return Section(
        title=f"{name}: failed",
        method=f"This benchmark failed with `{exc!r}`; the traceback is in "
        f"`bench/results/{name}/error.txt`.",
    )
