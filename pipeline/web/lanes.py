"""Lanes: how many requests of a kind may run at once; the others wait in the event loop.

Quick requests (search, a passage, a § page) and slow ones (an answer, theme tagging, both
of which may wait for the encoder) get separate lanes, so slow requests can never take every
thread while quick ones queue behind them. Fewer threads at once also means less fighting
over the GIL: under load the tail latency stays short.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import Depends

Lane = Literal["quick", "slow"]
WIDTH: dict[Lane, int] = {"quick": 6, "slow": 3}

# One set of semaphores per event loop (a test client may run several loops in turn).
_semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Lane, asyncio.Semaphore]]
_semaphores = weakref.WeakKeyDictionary()


def _semaphore(lane: Lane) -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    lanes = _semaphores.setdefault(loop, {})
    if lane not in lanes:
        lanes[lane] = asyncio.Semaphore(WIDTH[lane])
    return lanes[lane]


async def _quick() -> AsyncIterator[None]:
    async with _semaphore("quick"):
        yield


async def _slow() -> AsyncIterator[None]:
    async with _semaphore("slow"):
        yield


QUICK = Depends(_quick)
SLOW = Depends(_slow)
