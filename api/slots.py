"""A bounded wait for the CPU-bound answer slots: at most `concurrent` answers run, at most
`queued` wait, each for at most `timeout` seconds; beyond that the client gets a 503 with
Retry-After instead of an unbounded queue."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from guideqa.api.problems import ApiProblem


class AnswerSlots:
    """Answer slots with a bounded queue (create inside or outside the event loop)."""

    def __init__(self, concurrent: int, queued: int, timeout: float) -> None:
        self._semaphore = asyncio.Semaphore(concurrent)
        self.queued = queued
        self.timeout = timeout
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the duration of the block."""
        if not self._semaphore.locked():
            await self._semaphore.acquire()  # a free slot: taken at once, without waiting
        else:
            await self._wait_for_slot()
        try:
            yield
        finally:
            self._semaphore.release()

    async def _wait_for_slot(self) -> None:
        if self.waiting >= self.queued:
            raise ApiProblem(
                503,
                "Server busy",
                f"{self.waiting} answers are already waiting; retry shortly",
                {"retry-after": "2"},
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.timeout)
        except TimeoutError:
            raise ApiProblem(
                503,
                "Server busy",
                f"no answer slot became free within {self.timeout:.0f} s; retry shortly",
                {"retry-after": "5"},
            ) from None
        finally:
            self.waiting -= 1
