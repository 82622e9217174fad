"""CPU work of a batch off the event loop, and of a small one on it.

Hashing, validating, scoring and rendering many people is CPU work that would hold up every
other request of the worker meanwhile, so it runs in a thread; for a few people the hop to a
thread and back costs more than the work itself.
"""

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

INLINE_PEOPLE = 20
"""People whose questions, identities and answers are worked out on the event loop (about 45 us
each to validate and hash: 1 ms at most); more go to a thread."""
INLINE_ROWS = 100
"""Candidate rows scored on the event loop (about 20 us each: 2 ms at most); more go to a
thread."""


async def off_the_loop(work: Callable[[], T], size: int, inline: int) -> T:
    """``work()``: in a thread when ``size`` is over ``inline``, else at once on the loop."""
    if size <= inline:
        return work()
    return await asyncio.to_thread(work)
