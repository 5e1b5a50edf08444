"""Recording send results in small batches: one transaction per few milliseconds, not per message.

Until its result is written a message stays `sending`, so a crash in between is found by
reconciliation. A failed write keeps the results and tries again; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.clock import Clock
from core.db import SessionFactory, write_unit_of_work
from core.dispatch import record_failed, record_retry, record_sent, record_uncertain
from core.shopconfig import ShopConfig

if TYPE_CHECKING:
    from messaging.dispatcher import DrainReport

log = logging.getLogger(__name__)
MAX_BATCH = 500


class Recorder:
    """Collects results from concurrent sends and writes them together."""

    def __init__(
        self,
        sessions: SessionFactory,
        load_config: Callable[[], Awaitable[ShopConfig]],
        clock: Clock,
        report: DrainReport,
        linger: float = 0.005,
    ) -> None:
        self.sessions = sessions
        self.load_config = load_config
        self.clock = clock
        self.report = report
        self.linger = linger
        self._sent: list[dict[str, Any]] = []
        self._retry: list[dict[str, Any]] = []
        self._failed: list[tuple[int, str | None, str]] = []
        self._uncertain: list[tuple[int, str]] = []
        self._pending = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background writer."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="outbox-recorder")

    async def stop(self) -> None:
        """Write what is left and stop the writer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def sent(self, mid: int, sid: str, body: str | None) -> None:
        """The provider accepted the message."""
        self._sent.append({"mid": mid, "sid": sid, "body": body, "at": self.clock()})
        self._pending.set()

    async def retry(self, mid: int, not_before: datetime, code: str | None, reason: str) -> None:
        """Send it again later."""
        self._retry.append(
            {"mid": mid, "not_before": not_before, "code": code, "reason": reason[:2000]}
        )
        self._pending.set()

    async def failed(self, mid: int, code: str | None, reason: str) -> None:
        """A permanent failure with the provider's code."""
        self._failed.append((mid, code, reason))
        self._pending.set()

    async def uncertain(self, mid: int, reason: str) -> None:
        """The provider may or may not have it: leave it for reconciliation."""
        self._uncertain.append((mid, reason))
        self._pending.set()

    @property
    def backlog(self) -> int:
        return len(self._sent) + len(self._retry) + len(self._failed) + len(self._uncertain)

    async def _loop(self) -> None:
        while True:
            await self._pending.wait()
            await asyncio.sleep(self.linger)
            try:
                await self.flush()
            except Exception:  # a database blip: keep the results and try again
                log.exception("recording send results failed; retrying")
                await asyncio.sleep(0.5)

    async def flush(self) -> None:
        """Write every pending result (in batches of at most MAX_BATCH)."""
        async with self._lock:
            while self.backlog:
                self._pending.clear()
                sent, self._sent = self._sent[:MAX_BATCH], self._sent[MAX_BATCH:]
                retry, self._retry = self._retry[:MAX_BATCH], self._retry[MAX_BATCH:]
                failed, self._failed = self._failed[:MAX_BATCH], self._failed[MAX_BATCH:]
                unsure, self._uncertain = self._uncertain[:MAX_BATCH], self._uncertain[MAX_BATCH:]
                try:
                    cfg = await self.load_config() if failed else None
                    async with write_unit_of_work(self.sessions) as session:
                        await record_sent(session, sent)
                        await record_retry(session, retry)
                        await record_uncertain(session, unsure, self.clock())
                        if failed and cfg is not None:
                            await record_failed(session, failed, self.clock(), cfg)
                except BaseException:
                    self._sent[:0], self._retry[:0] = sent, retry
                    self._failed[:0], self._uncertain[:0] = failed, unsure
                    self._pending.set()
                    raise
                self.report.sent += len(sent)
                self.report.retried += len(retry)
                self.report.failed += len(failed)
                self.report.uncertain += len(unsure)
