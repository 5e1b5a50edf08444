"""Group commit: small writes from concurrent callers committed together, one transaction a batch.

SQLite has one writer. When many people tap at once, giving each tap its own transaction makes
them queue for the write lock one by one. Here each caller hands over its work and awaits it:
whatever work arrives while a batch is being written forms the next batch, which runs in one
write transaction and commits once; then every caller in it gets its own result.

    committer = GroupCommit(sessions)
    result = await committer.run(lambda session: record_outcome(session, ...))

A caller's work must only use the session it is given (the transaction is shared). When one
caller's work raises, the batch is rolled back, that caller gets its exception, and the others'
work runs again in a fresh transaction: one refusal never lands in, or undoes, another's commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SessionFactory, write_unit_of_work

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[Any]]
MAX_BATCH = 64


@dataclass
class _Job:
    work: Work
    done: asyncio.Future[Any]


class _Failed(Exception):
    """One job raised: roll the batch back (the job and its error ride along)."""

    def __init__(self, job: _Job, error: Exception) -> None:
        super().__init__(repr(error))
        self.job, self.error = job, error


def _settle(job: _Job, result: Any = None, error: BaseException | None = None) -> None:
    if job.done.done():  # the caller went away (cancelled): nobody to tell
        return
    if isinstance(error, Exception):
        job.done.set_exception(error)
    elif error is not None:  # the writer itself was cancelled (shutdown)
        job.done.cancel()
    else:
        job.done.set_result(result)


class GroupCommit:
    """Runs callers' write work in shared transactions; a writer task exists only while busy."""

    def __init__(self, sessions: SessionFactory, max_batch: int = MAX_BATCH) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self.batches = 0  # transactions committed (for tests and benchmarks)
        self.committed = 0  # callers' work committed in them
        self._queue: list[_Job] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in the next batch's transaction; its result once that has committed."""
        job = _Job(work, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        return await job.done  # type: ignore[no-any-return]

    async def _drain(self) -> None:
        batch: list[_Job] = []
        try:
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

    async def _commit(self, batch: list[_Job]) -> None:
        while batch:
            results: list[Any] = []
            try:
                async with write_unit_of_work(self.sessions) as session:
                    for job in batch:
                        try:
                            results.append(await job.work(session))
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
