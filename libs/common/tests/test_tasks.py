"""A periodic background job keeps running after a failure and stops with its block."""

import asyncio

from common.tasks import periodically


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
