"""Reconciliation: what became of a message left `sending`? Ask the provider before resending.

A row with a provider sid was sent (its result write was lost): mark it sent. Otherwise list the
provider's messages to that address since shortly before the claim: one whose text is ours (or,
for a template, the only one whose sid no row of ours holds) is this message — record it; none
means the send never reached the provider — queue it again. Every update is conditional on the
claim being unchanged, so two processes reconciling the same row cannot both act on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from core.clock import Clock
from core.db import SessionFactory, write_unit_of_work
from core.dispatch import Claimed, known_sids, requeue_unsent, resolve_sent, stale_sending
from core.shopconfig import ShopConfig
from messaging.templates import CannotCompose, Senders, compose, whatsapp_address
from messaging.transport import ProviderMessage, Transport

if TYPE_CHECKING:
    from messaging.dispatcher import DrainReport

log = logging.getLogger(__name__)
CLOCK_SKEW = timedelta(minutes=2)


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def pick_match(
    candidates: list[ProviderMessage], expected: str | None, known: set[str], template: bool
) -> ProviderMessage | None:
    """The provider message that is ours: same text, else (templates) the only unknown one."""
    unknown = [m for m in candidates if m.sid not in known]
    if expected is not None:
        for m in reversed(unknown):  # oldest first
            if _same_text(m.body, expected):
                return m
    if template and len(unknown) == 1:
        return unknown[0]
    return None


class Reconciler:
    """Resolves stale `sending` rows against the provider."""

    def __init__(
        self,
        sessions: SessionFactory,
        transport: Transport,
        load_config: Callable[[], Awaitable[ShopConfig]],
        clock: Clock,
        report: DrainReport,
        senders: Senders | None = None,
        concurrency: int = 8,
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.load_config = load_config
        self.clock = clock
        self.report = report
        self.senders = senders or Senders(whatsapp_from="whatsapp:+0", sms_from="+0")
        self._limit = asyncio.Semaphore(concurrency)

    async def run(self, claimed_before: datetime) -> int:
        """Reconcile every row `sending` since before an instant; returns how many were settled."""
        async with self.sessions() as session:
            stale = await stale_sending(session, claimed_before)
        if not stale:
            return 0
        cfg = await self.load_config()
        results = await asyncio.gather(*(self._one(c, cfg) for c in stale))
        return sum(results)

    async def _one(self, c: Claimed, cfg: ShopConfig) -> int:
        now = self.clock()
        if c.provider_sid:
            return await self._settle(c, "found", c.provider_sid)
        expected: str | None
        template = False
        try:
            out = compose(c, cfg, c.claimed_at, self.senders)
            expected, template = out.rendered, out.content_sid is not None
        except CannotCompose:
            expected = None
        to = whatsapp_address(c.phone) if c.channel == "whatsapp" else c.phone
        async with self._limit:
            found = await self.transport.recent_to(to, c.claimed_at - CLOCK_SKEW)
        if found is None:  # the provider could not be asked: try again later
            self.report.reconciled["lookup_failed"] += 1
            return 0
        async with self.sessions() as session:
            known = await known_sids(session, [m.sid for m in found])
        match = pick_match(found, expected, known, template)
        if match is not None:
            return await self._settle(c, "found", match.sid)
        async with write_unit_of_work(self.sessions) as session:
            done = await requeue_unsent(session, c.id, c.claimed_at, now)
        if done:
            self.report.reconciled["requeued"] += 1
        return int(done)

    async def _settle(self, c: Claimed, outcome: str, sid: str) -> int:
        try:
            async with write_unit_of_work(self.sessions) as session:
                done = await resolve_sent(session, c.id, c.claimed_at, sid, self.clock())
        except IntegrityError:  # that sid belongs to another row after all: look again later
            log.warning("reconciliation: sid %s already recorded; message %s left", sid, c.id)
            return 0
        if done:
            self.report.reconciled[outcome] += 1
        return int(done)
