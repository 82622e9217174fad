"""What the figures were measured on: the machine, the software, and the git commit."""

import asyncio
import os
import platform
import resource
import subprocess
import time
from dataclasses import dataclass
from importlib.metadata import version

import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.report import Table
from bench.services import ROOT, Database
from common.database import async_url

PACKAGES = ("fastapi", "uvicorn", "uvloop", "httptools", "sqlalchemy", "asyncpg", "httpx")


def describe(*, placement: str, database: Database, wrk_version: str) -> Table:
    memory_gib = psutil.virtual_memory().total / 2**30
    postgres = asyncio.run(_postgres_version(database.url))
    rows = [
        ("CPU", _cpu_model()),
        ("Cores", f"{psutil.cpu_count(logical=False)} physical, {os.cpu_count()} logical"),
        ("Memory", f"{memory_gib:.1f} GiB"),
        ("OS", f"{platform.freedesktop_os_release()['PRETTY_NAME']}, Linux {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("PostgreSQL", f"{postgres} ({database.origin})"),
        ("Load generator", f"{wrk_version}; httpx {version('httpx')} for in-Python scenarios"),
        ("Packages", ", ".join(f"{name} {version(name)}" for name in PACKAGES)),
        ("CPU placement", placement),
    ]
    return Table(columns=("item", "value"), rows=rows)


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


async def _postgres_version(database_url: str) -> str:
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as connection:
            return str(await connection.scalar(text("SHOW server_version")))
    finally:
        await engine.dispose()


def git_revision() -> str:
    """``<short hash> (<subject>)``, and whether the working tree had uncommitted changes."""
    commit = _git("rev-parse", "--short", "HEAD")
    subject = _git("log", "-1", "--format=%s")
    changed = _git("status", "--porcelain").splitlines()
    state = f"with {len(changed)} uncommitted changes" if changed else "clean working tree"
    return f"`{commit}` ({subject}), {state}"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


@dataclass(frozen=True)
class CpuClock:
    """CPU seconds the whole machine was busy, and those of this process and its children."""

    busy: float
    own: float
    wall: float

    @classmethod
    def read(cls) -> "CpuClock":
        t = psutil.cpu_times()
        own = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        return cls(
            busy=t.user + t.nice + t.system + t.irq + t.softirq + t.steal,
            own=sum(usage.ru_utime + usage.ru_stime for usage in own),
            wall=time.monotonic(),
        )

    def others_since(self, start: "CpuClock") -> float:
        """The share of the machine's CPU time used by anything but this run since ``start``.

        Children count once they have exited (services and wrk have, by the end); PostgreSQL
        runs detached, so it counts among the others, as does time the hypervisor took (steal).
        """
        others = (self.busy - start.busy) - (self.own - start.own)
        available = (self.wall - start.wall) * (os.cpu_count() or 1)
        return max(0.0, others / available)
