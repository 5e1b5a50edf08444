"""The outbox dispatcher: claims due messages, sends them at a global rate, records the results.

Exactly once: a row is `sending` from its claim until its result is recorded. The provider's
sid is recorded as soon as the send returns (batched, a few ms). A row still `sending` at
start-up, or longer than the lease, is reconciled — looked up on the provider by address and
time, matched by its text or by a sid no other row holds — before anything is sent again.
A timeout or 5xx leaves the row `sending` for the same reconciliation, since the provider may
have created the message. Housekeeping: stale leases are reconciled and the rate drops when
the provider reports 63018 (or answers 429), then recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from core.clock import Clock, system_clock
from core.db import SessionFactory, write_unit_of_work
from core.deliverability import RATE_LIMITED
from core.dispatch import Claimed, claim_due, recent_failures, retry_delay
from core.shopconfig import ShopConfig, load_applied_config
from messaging.ratelimit import TokenBucket
from messaging.reconcile import Reconciler
from messaging.recorder import Recorder
from messaging.templates import CannotCompose, Senders, compose
from messaging.transport import SendError, Transport

log = logging.getLogger(__name__)


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    waiting: int = 0
    deferred: int = 0
    cancelled: Counter[str] = field(default_factory=Counter)
    reconciled: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        """One line for the CLI."""
        parts = [f"sent {self.sent}", f"retry later {self.retried}", f"failed {self.failed}"]
        parts += [f"waiting {self.waiting}", f"deferred {self.deferred}"]
        if self.uncertain:
            parts.append(f"to reconcile {self.uncertain}")
        if self.cancelled:
            parts.append("cancelled " + ", ".join(f"{k} {v}" for k, v in self.cancelled.items()))
        if self.reconciled:
            parts.append("reconciled " + ", ".join(f"{k} {v}" for k, v in self.reconciled.items()))
        return " · ".join(parts)


class Dispatcher:
    """Drains the outbox continuously (`start`/`stop`) or once (`drain_once`)."""

    def __init__(
        self,
        sessions: SessionFactory,
        transport: Transport,
        senders: Senders,
        *,
        clock: Clock = system_clock,
        startup_grace: timedelta = timedelta(0),
        batch_size: int = 200,
        idle_seconds: float = 0.5,
        config_ttl: float = 30.0,
        housekeeping_seconds: float = 10.0,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.senders = senders
        self.clock = clock
        self.startup_grace = startup_grace
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.config_ttl = config_ttl
        self.housekeeping_seconds = housekeeping_seconds
        self.jitter = jitter
        self.report = DrainReport()
        self._show_unregistered = bool(getattr(transport, "shows_unregistered_templates", False))
        self.recorder = Recorder(sessions, self._load_config, clock, self.report)
        self.reconciler = Reconciler(
            sessions, transport, self._load_config, clock, self.report, senders
        )
        self._cfg: ShopConfig | None = None
        self._cfg_at = 0.0
        self._bucket: TokenBucket | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._opened = False
        self._drains = 0  # drain_once calls in progress (they share the open transport)
        self._next_housekeeping = 0.0

    # --- lifecycle ---------------------------------------------------------------------------

    async def _open(self) -> None:
        if not self._opened:
            await self.transport.start()
            self.recorder.start()
            self._opened = True

    async def _close(self) -> None:
        if self._opened:
            await self.recorder.stop()
            await self.transport.close()
            self._opened = False

    async def start(self) -> None:
        """Open the transport, reconcile what a previous run left `sending`, start draining."""
        await self._open()
        await self.reconciler.run(self.clock() - self.startup_grace)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        """Stop claiming, finish the sends in flight, record them, close the transport."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._finish_inflight()
        await self._close()

    def wake(self) -> None:
        """Look at the outbox now (a reply was queued)."""
        self._wake.set()

    async def drain_once(self) -> DrainReport:
        """Reconcile, then send everything due now, and return what happened."""
        self._drains += 1
        await self._open()
        try:
            await self.reconciler.run(self.clock() - self.startup_grace)
            while True:
                claimed = await self._claim(self.batch_size)
                if not claimed:
                    break
                for c in claimed:
                    self._spawn(c)
                await self._finish_inflight()
            await self.recorder.flush()
        finally:
            self._drains -= 1
            if not self._drains and self._task is None:  # the last user closes the transport
                await self._close()
        return self.report

    # --- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._housekeeping()
                if len(self._inflight) >= self.batch_size:
                    await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                self._wake.clear()  # before the claim: a wake-up during it is not lost
                claimed = await self._claim(self.batch_size)
                for c in claimed:
                    self._spawn(c)
                if not claimed and not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
            except Exception:  # the loop must survive a bad batch or a database blip
                log.exception("dispatcher loop error; retrying in a moment")
                await asyncio.sleep(self.idle_seconds)

    async def _finish_inflight(self) -> None:
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    def _spawn(self, claimed: Claimed) -> None:
        task = asyncio.create_task(self._send(claimed))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _load_config(self) -> ShopConfig:
        if self._cfg is None or time.monotonic() - self._cfg_at > self.config_ttl:
            async with self.sessions() as session:
                self._cfg = await load_applied_config(session)
            self._cfg_at = time.monotonic()
            m = self._cfg.messaging
            if self._bucket is None:
                self._bucket = TokenBucket(m.rate_per_second)
                self._semaphore = asyncio.Semaphore(m.concurrency)
        return self._cfg

    async def _claim(self, limit: int) -> list[Claimed]:
        cfg = await self._load_config()
        async with write_unit_of_work(self.sessions) as session:
            result = await claim_due(session, self.clock(), cfg, limit)
        self.report.cancelled.update(result.cancelled)
        self.report.waiting += result.waiting
        self.report.deferred += result.deferred
        return result.claimed

    async def _housekeeping(self) -> None:
        if time.monotonic() < self._next_housekeeping:
            return
        self._next_housekeeping = time.monotonic() + self.housekeeping_seconds
        cfg = await self._load_config()
        now = self.clock()
        await self.reconciler.run(now - timedelta(seconds=cfg.messaging.claim_lease_seconds))
        async with self.sessions() as session:
            slowed = await recent_failures(session, RATE_LIMITED, now - timedelta(minutes=1))
        self._adjust_rate(cfg, slow=slowed > 0)

    def _adjust_rate(self, cfg: ShopConfig, slow: bool) -> None:
        """Halve the rate when the provider says slow down; recover by a quarter otherwise."""
        if self._bucket is None:
            return
        target = cfg.messaging.rate_per_second
        rate = self._bucket.rate / 2 if slow else min(target, self._bucket.rate * 1.25)
        if rate != self._bucket.rate:
            log.info("send rate %.1f/s → %.1f/s", self._bucket.rate, rate)
            self._bucket.set_rate(rate)

    # --- one message -------------------------------------------------------------------------

    async def _send(self, claimed: Claimed) -> None:
        cfg = await self._load_config()
        assert self._bucket is not None and self._semaphore is not None
        now = self.clock()
        try:
            out = compose(
                claimed, cfg, now, self.senders, show_unregistered=self._show_unregistered
            )
        except CannotCompose as exc:
            await self.recorder.failed(claimed.id, exc.code, exc.reason)
            return
        async with self._semaphore:
            await self._bucket.acquire()
            try:
                sent = await self.transport.send(out)
            except SendError as exc:
                await self._send_failed(claimed, exc, cfg)
                return
            except Exception as exc:  # a bug in a transport must not lose the row: reconcile it
                log.exception("transport error for message %s", claimed.id)
                await self.recorder.uncertain(claimed.id, f"transport error: {exc}")
                return
        await self.recorder.sent(claimed.id, sent.sid, out.body)

    async def _send_failed(self, claimed: Claimed, exc: SendError, cfg: ShopConfig) -> None:
        m = cfg.messaging
        if exc.status == 429 or exc.code == "20429":
            self._adjust_rate(cfg, slow=True)
        if exc.uncertain:
            await self.recorder.uncertain(claimed.id, exc.reason)
        elif exc.retryable and claimed.attempts < m.max_attempts:
            delay = retry_delay(
                claimed.attempts, m.retry_base_seconds, m.retry_max_seconds, self.jitter()
            )
            not_before = self.clock() + timedelta(seconds=delay)
            await self.recorder.retry(claimed.id, not_before, exc.code, exc.reason)
        else:
            await self.recorder.failed(claimed.id, exc.code, exc.reason)
