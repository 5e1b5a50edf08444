"""Group commit: many concurrent requests' writes in one transaction, each caller told after commit.

A webhook that must not lose what it acknowledges has to commit before it answers, and SQLite
commits one transaction at a time. The writer queues items; its loop takes everything queued
(up to `max_batch`), applies it in ONE transaction and only then resolves each caller's future,
so `await writer.submit(item)` returns once that item is durable. Items arriving during a write
form the next batch. When a batch fails, each item is tried alone, so one bad item fails only its
own caller (who answers 5xx; the provider retries) and never acknowledges the others' loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SessionFactory, write_unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
Apply = Callable[[AsyncSession, Sequence[T]], Awaitable[Sequence[R]]]


class GroupCommitWriter(Generic[T, R]):
    """Applies submitted items in shared transactions; `apply` returns one result per item."""

    def __init__(
        self,
        sessions: SessionFactory,
        apply: Apply[T, R],
        *,
        name: str = "group-commit",
        max_batch: int = 500,
        linger: float = 0.0,
    ) -> None:
        self.sessions = sessions
        self.apply = apply
        self.name = name
        self.max_batch = max_batch
        self.linger = linger
        self.batches = 0  # transactions committed (for the benchmark and tests)
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._pending = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writer loop (inside the running event loop)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while self._queue:
            await self._write_next()

    async def submit(self, item: T) -> R:
        """Queue an item and wait until it is committed; raises what its write raised."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._pending.set()
        self.start()
        return await future

    async def _loop(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            if self.linger:
                await asyncio.sleep(self.linger)
            while self._queue:
                await self._write_next()

    async def _write_next(self) -> None:
        batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
        try:
            results = await self._commit([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _resolve(batch[0][1], exc=exc)
                return
            log.warning(
                "%s: a batch of %d failed (%s); writing one by one", self.name, len(batch), exc
            )
            for item, future in batch:
                try:
                    [result] = await self._commit([item])
                except Exception as one:  # this item's caller answers with an error
                    _resolve(future, exc=one)
                else:
                    _resolve(future, result)
            return
        except BaseException:  # cancelled mid-write: the batch is not known to be committed
            self._queue[:0] = batch
            raise
        for (_, future), result in zip(batch, results, strict=True):
            _resolve(future, result)

    async def _commit(self, items: list[T]) -> Sequence[R]:
        async with write_unit_of_work(self.sessions) as session:
            results = await self.apply(session, items)
        self.batches += 1
        return results


def _resolve(
    future: asyncio.Future[R], result: R | None = None, *, exc: Exception | None = None
) -> None:
    if future.done():  # the caller went away; its item was still written (or not)
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]
