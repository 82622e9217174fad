"""A periodic background job keeps running after a failure and stops with its block; an exclusive
one runs in one process at a time (real PostgreSQL advisory locks)."""

import asyncio

import pytest

from common.database import Database
from common.tasks import periodically, run_exclusively


async def test_a_failing_run_is_logged_and_the_job_runs_again_until_the_block_ends() -> None:
    runs = 0
    two_runs = asyncio.Event()

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs >= 2:
            two_runs.set()
        if runs == 1:
            raise RuntimeError("the first run fails")

    async with periodically(0.01, job, name="probe"):
        await asyncio.wait_for(two_runs.wait(), timeout=10)
    assert runs >= 2
    assert "probe" not in {task.get_name() for task in asyncio.all_tasks()}  # stopped with it


async def _overlap_of_two_processes(database_url: str, names: tuple[str, str]) -> int:
    """Two apps' periodic jobs (each with its own engine, as two processes have): the most rounds
    seen running at once after both have run a few."""
    running = most = rounds = 0
    enough = asyncio.Event()

    async def job() -> None:
        nonlocal running, most, rounds
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)  # long beside the interval: the other process's turn comes
        running -= 1
        rounds += 1
        if rounds >= 6:
            enough.set()

    first, second = Database(database_url, "probe"), Database(database_url, "probe")
    try:
        async with (
            periodically(0.01, job, name=names[0], exclusive=first),
            periodically(0.01, job, name=names[1], exclusive=second),
        ):
            await asyncio.wait_for(enough.wait(), timeout=20)
    finally:
        await first.dispose()
        await second.dispose()
    return most


async def test_an_exclusive_job_runs_in_one_process_at_a_time(database_url: str) -> None:
    assert await _overlap_of_two_processes(database_url, ("purge", "purge")) == 1


async def test_exclusive_jobs_of_other_names_do_not_wait_for_each_other(database_url: str) -> None:
    assert await _overlap_of_two_processes(database_url, ("purge", "export")) == 2


async def test_a_round_that_fails_lets_go_of_the_lock(database_url: str) -> None:
    database = Database(database_url, "probe")

    async def failing() -> None:
        raise RuntimeError("the round fails")

    async def succeeding() -> None:
        pass

    try:
        with pytest.raises(RuntimeError):
            await run_exclusively(database, "purge", failing)
        assert await run_exclusively(database, "purge", succeeding) is True
    finally:
        await database.dispose()


async def test_a_round_is_skipped_while_another_connection_holds_the_jobs_lock(
    database_url: str,
) -> None:
    database, other = Database(database_url, "probe"), Database(database_url, "probe")
    ran: list[str] = []

    async def job() -> None:
        ran.append("job")

    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        holding.set()
        await release.wait()

    try:
        holder = asyncio.create_task(run_exclusively(other, "purge", hold))
        await asyncio.wait_for(holding.wait(), timeout=10)
        assert await run_exclusively(database, "purge", job) is False
        release.set()
        assert await holder is True
        assert await run_exclusively(database, "purge", job) is True
        assert ran == ["job"]
    finally:
        await database.dispose()
        await other.dispose()
