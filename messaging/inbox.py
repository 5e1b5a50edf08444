"""Inbound messages: stored durably before the webhook answers, processed in the background.

`receive` writes the raw message through a group-commit writer (many webhooks, one transaction)
and returns once it is committed, so whatever Twilio was told "200" survives a crash. The worker
(`start`/`stop`, or `process_pending` by hand) processes the inbox in arrival order, one message
per transaction (core.inbox.process_inbound: engagement, attribution, intent, reorder task,
opt-out, the reply), then wakes the dispatcher for the reply and hands a reorder to the ERP
poster. Rows left unprocessed by a crash are picked up at start-up. A message that fails is
retried (its customer's later messages wait, to keep their order) and set aside, with its error,
after `max_attempts`. The worker also posts pending ERP reorders at start-up and periodically.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, system_clock
from core.db import SessionFactory, write_unit_of_work
from core.errors import InvalidInput
from core.group_commit import GroupCommitWriter
from core.inbox import (
    PendingInbound,
    Received,
    pending_inbound,
    process_inbound,
    record_inbound_failure,
    store_received,
)
from core.shopconfig import ShopConfig
from messaging.erp import ErpPoster

log = logging.getLogger(__name__)


class Inbox:
    """The inbound side of WhatsApp/SMS: durable receipt, ordered background processing."""

    def __init__(
        self,
        sessions: SessionFactory,
        load_config: Callable[[], Awaitable[ShopConfig]],
        *,
        clock: Clock = system_clock,
        erp: ErpPoster | None = None,
        wake: Callable[[], None] | None = None,
        batch_size: int = 50,
        idle_seconds: float = 1.0,
        max_attempts: int = 5,
        erp_retry_seconds: float = 60.0,
    ) -> None:
        self.sessions = sessions
        self.load_config = load_config
        self.clock = clock
        self.erp = erp
        self.wake = wake
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.max_attempts = max_attempts
        self.erp_retry_seconds = erp_retry_seconds
        self.processed = 0
        self.writer: GroupCommitWriter[Received, None] = GroupCommitWriter(
            sessions, self._store, name="inbox-writer"
        )
        self._kick = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._next_erp_retry = 0.0

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self, received: Received) -> None:
        """Store one inbound message; returns once it is committed (raises if it was not)."""
        await self.writer.submit(received)
        self._kick.set()

    @staticmethod
    async def _store(session: AsyncSession, batch: Sequence[Received]) -> list[None]:
        await store_received(session, batch)
        return [None] * len(batch)

    # --- the worker --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker (which first catches up on what is unprocessed)."""
        if self._task is None:
            self._next_erp_retry = 0.0
            self._task = asyncio.create_task(self._run(), name="inbox-worker")

    async def stop(self) -> None:
        """Stop the worker (a message mid-way rolls back and stays pending), flush the writer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.writer.stop()
        if self.erp is not None:
            await self.erp.close()

    def kick(self) -> None:
        """Look at the inbox now."""
        self._kick.set()

    async def drain(self) -> int:
        """Process everything stored and wait for the ERP posts it caused (tests, shutdown)."""
        done = await self.process_pending()
        if self.erp is not None:
            await self.erp.wait_idle()
        return done

    async def _run(self) -> None:
        while True:
            self._kick.clear()
            try:
                if self.erp is not None and time.monotonic() >= self._next_erp_retry:
                    self._next_erp_retry = time.monotonic() + self.erp_retry_seconds
                    await self.erp.retry_due()
                await self.process_pending()
            except Exception:  # a database blip must not end the worker
                log.exception("inbox worker error; retrying in a moment")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.idle_seconds)

    async def process_pending(self) -> int:
        """Process stored messages in arrival order until none is left (or all left wait)."""
        async with self._lock:
            held: set[str] = set()  # senders whose earlier message failed in this call
            total = 0
            while True:
                cfg = await self.load_config()
                async with self.sessions() as session:
                    rows = await pending_inbound(session, self.batch_size)
                todo = [r for r in rows if r.sender not in held]
                if not todo:  # each round processes a row or holds a sender: this ends
                    return total
                for row in todo:
                    if row.sender not in held:
                        total += await self._process(row, cfg, held)

    async def _process(self, row: PendingInbound, cfg: ShopConfig, held: set[str]) -> int:
        try:
            async with write_unit_of_work(self.sessions) as session:
                result = await process_inbound(
                    session, row.id, cfg, self.clock(), erp=self.erp is not None
                )
        except InvalidInput as exc:  # not a Bangladeshi mobile: nothing to act on, keep the why
            log.info("inbound %s from %s set aside: %s", row.provider_sid, row.sender, exc)
            async with write_unit_of_work(self.sessions) as session:
                await record_inbound_failure(session, row.id, str(exc), self.clock(), give_up=True)
            return 1
        except Exception as exc:
            give_up = row.attempts + 1 >= self.max_attempts
            log.exception(
                "inbound %s failed (attempt %s%s)",
                row.provider_sid,
                row.attempts + 1,
                ", set aside" if give_up else "",
            )
            async with write_unit_of_work(self.sessions) as session:
                await record_inbound_failure(
                    session, row.id, f"{type(exc).__name__}: {exc}", self.clock(), give_up=give_up
                )
            if not give_up:
                held.add(row.sender)
            return 0
        self.processed += 1
        if result is not None:
            if result.replies_queued and self.wake is not None:
                self.wake()
            if result.erp_payload and self.erp is not None:
                self.erp.post_soon(result.erp_payload)
        return 1
