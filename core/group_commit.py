"""Group commit: small writes from concurrent callers committed together, one transaction a batch.

SQLite has one writer, and a webhook or a tap that must not lose what it acknowledges has to
commit before it answers. Giving each caller its own transaction makes them queue for the write
lock one by one. Here each caller hands over its work and awaits it: whatever arrives while a
batch is being written forms the next batch (at most `max_batch`), which runs in one write
transaction and commits once; only then is every caller in it told its own result. A writer task
exists only while there is work. Two ways to hand work over, on the same batching loop:

    committer = GroupCommit(sessions)                      # a closure per caller
    result = await committer.run(lambda session: record_outcome(session, ...))

    writer = GroupCommitWriter(sessions, store_many)       # an item per caller, applied together
    result = await writer.submit(item)                     # store_many(session, items) → results

Either way one caller's failure lands in, and undoes, no one else's commit: a closure that raises
is dropped and the others run again in a fresh transaction; a batch of items that fails is tried
item by item, so a bad item fails only its own caller (a webhook answers 5xx; the provider retries).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SessionFactory, write_unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")
Work = Callable[[AsyncSession], Awaitable[Any]]
Apply = Callable[[AsyncSession, Sequence[T]], Awaitable[Sequence[R]]]
MAX_BATCH = 64


@dataclass
class _Job(Generic[P]):
    payload: P
    done: asyncio.Future[Any]


def _settle(job: _Job[Any], result: Any = None, error: BaseException | None = None) -> None:
    if job.done.done():  # the caller went away (cancelled): nobody to tell
        return
    if isinstance(error, Exception):
        job.done.set_exception(error)
    elif error is not None:  # the writer itself was cancelled (shutdown)
        job.done.cancel()
    else:
        job.done.set_result(result)


class _Batcher(Generic[P]):
    """The batching loop: callers queue jobs and await them; `_commit` settles each batch."""

    def __init__(self, sessions: SessionFactory, *, name: str, max_batch: int, linger: float):
        self.sessions = sessions
        self.name = name
        self.max_batch = max_batch
        self.linger = linger
        self.batches = 0  # transactions committed (for tests and benchmarks)
        self.committed = 0  # callers' work committed in them
        self._queue: list[_Job[P]] = []
        self._writer: asyncio.Task[None] | None = None

    async def _enqueue(self, payload: P) -> Any:
        job: _Job[P] = _Job(payload, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name=self.name)
        return await job.done

    async def stop(self) -> None:
        """Wait until everything queued so far is committed (the writer then ends by itself)."""
        while self._writer is not None:
            await asyncio.wait([self._writer])

    async def _drain(self) -> None:
        batch: list[_Job[P]] = []
        try:
            if self.linger:
                await asyncio.sleep(self.linger)
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                await self._commit(batch)
                batch = []
        except BaseException as exc:  # cancelled at shutdown: nobody waits for ever
            for job in batch + self._queue:
                _settle(job, error=exc)
            self._queue = []
            raise
        finally:
            self._writer = None

    async def _commit(self, batch: list[_Job[P]]) -> None:
        raise NotImplementedError


class _Failed(Exception):
    """One job raised: roll the batch back (the job and its error ride along)."""

    def __init__(self, job: _Job[Work], error: Exception) -> None:
        super().__init__(repr(error))
        self.job, self.error = job, error


class GroupCommit(_Batcher[Work]):
    """Runs callers' write closures in shared transactions; each must use only its session."""

    def __init__(
        self,
        sessions: SessionFactory,
        max_batch: int = MAX_BATCH,
        *,
        name: str = "group-commit",
        linger: float = 0.0,
    ) -> None:
        super().__init__(sessions, name=name, max_batch=max_batch, linger=linger)

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in the next batch's transaction; its result once that has committed."""
        return await self._enqueue(work)  # type: ignore[no-any-return]

    async def _commit(self, batch: list[_Job[Work]]) -> None:
        while batch:
            results: list[Any] = []
            try:
                async with write_unit_of_work(self.sessions) as session:
                    for job in batch:
                        try:
                            results.append(await job.payload(session))
                        except Exception as exc:
                            raise _Failed(job, exc) from exc
            except _Failed as failed:  # rolled back: tell that caller, write the others again
                _settle(failed.job, error=failed.error)
                batch = [job for job in batch if job is not failed.job]
                continue
            except Exception as exc:  # the transaction itself failed: everyone hears it
                for job in batch:
                    _settle(job, error=exc)
                return
            self.batches += 1
            self.committed += len(batch)
            for job, result in zip(batch, results, strict=True):
                _settle(job, result)
            return


class GroupCommitWriter(_Batcher[T], Generic[T, R]):
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
        super().__init__(sessions, name=name, max_batch=max_batch, linger=linger)
        self.apply = apply

    async def submit(self, item: T) -> R:
        """Queue an item and wait until it is committed; raises what its write raised."""
        return await self._enqueue(item)  # type: ignore[no-any-return]

    async def _commit(self, batch: list[_Job[T]]) -> None:
        try:
            results = await self._write([job.payload for job in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], error=exc)
                return
            log.warning(
                "%s: a batch of %d failed (%s); writing one by one", self.name, len(batch), exc
            )
            for job in batch:
                try:
                    [result] = await self._write([job.payload])
                except Exception as one:  # this item's caller answers with an error
                    _settle(job, error=one)
                else:
                    _settle(job, result)
            return
        for job, result in zip(batch, results, strict=True):
            _settle(job, result)

    async def _write(self, items: list[T]) -> Sequence[R]:
        async with write_unit_of_work(self.sessions) as session:
            results = await self.apply(session, items)
        self.batches += 1
        self.committed += len(items)
        return results
