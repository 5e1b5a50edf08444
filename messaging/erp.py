"""Posting customers' reorders to the shop's ERP (ERP_ORDER_WEBHOOK_URL), with retries.

A reorder is committed `pending` with the reply that caused it; the poster then POSTs it as JSON
in the background. Within a round, 5xx, 429 and network errors retry with backoff; a round that
still fails leaves it `failed`, and `retry_due` (at start-up and periodically, from the inbox
worker) posts pending and failed ones again until `max_attempts`. A 4xx is `rejected`: no retry.
The payload carries `reorder_request_id` so the ERP can ignore a repeat (a crash after the POST
but before its result was written sends it again).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import aiohttp

from core.db import SessionFactory, write_unit_of_work
from core.erp_orders import due_for_erp, record_erp_result

log = logging.getLogger(__name__)


async def post_reorder(
    http: aiohttp.ClientSession,
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = 5,
    base_delay: float = 1.0,
) -> tuple[str, int]:
    """POST the reorder; returns (sent | failed | rejected, attempts made)."""
    tries = 0
    for tries in range(1, attempts + 1):
        try:
            async with http.post(url, json=payload) as response:
                if response.status < 300:
                    return "sent", tries
                if response.status < 500 and response.status != 429:
                    log.warning(
                        "ERP refused reorder %s: %s",
                        payload.get("reorder_request_id"),
                        response.status,
                    )
                    return "rejected", tries
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("ERP post failed (attempt %s): %s", tries, exc)
        if tries < attempts:
            await asyncio.sleep(base_delay * 2 ** (tries - 1) * (0.5 + random.random() / 2))
    return "failed", tries


class ErpPoster:
    """Posts reorders in the background, one task per reorder, never two for the same one."""

    def __init__(
        self,
        sessions: SessionFactory,
        url: str,
        *,
        attempts_per_round: int = 5,
        max_attempts: int = 20,
        base_delay: float = 1.0,
        request_seconds: float = 10.0,
    ) -> None:
        self.sessions = sessions
        self.url = url
        self.attempts_per_round = attempts_per_round
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.request_seconds = request_seconds
        self._http: aiohttp.ClientSession | None = None
        self._inflight: dict[int, asyncio.Task[None]] = {}

    def post_soon(self, payload: dict[str, Any]) -> None:
        """Post a committed reorder in the background (unless it is already being posted)."""
        rid = int(payload["reorder_request_id"])
        if rid in self._inflight:
            return
        task = asyncio.create_task(self._post(rid, payload), name=f"erp-reorder-{rid}")
        self._inflight[rid] = task
        task.add_done_callback(lambda _: self._inflight.pop(rid, None))

    async def retry_due(self) -> int:
        """Post pending reorders and failed ones below the attempt limit; returns how many."""
        async with self.sessions() as session:
            due = await due_for_erp(
                session, max_attempts=self.max_attempts, exclude=set(self._inflight)
            )
        for payload in due:
            self.post_soon(payload)
        return len(due)

    async def wait_idle(self) -> None:
        """Wait until every post in flight has finished and been recorded."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight.values()), return_exceptions=True)

    async def close(self, grace_seconds: float = 30.0) -> None:
        """Give posts in flight a moment, cancel the rest (they stay pending), close the client."""
        tasks = list(self._inflight.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _post(self, rid: int, payload: dict[str, Any]) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.request_seconds)
            )
        outcome, tries = await post_reorder(
            self._http,
            self.url,
            payload,
            attempts=self.attempts_per_round,
            base_delay=self.base_delay,
        )
        try:
            async with write_unit_of_work(self.sessions) as session:
                await record_erp_result(session, rid, outcome, tries)
        except Exception:  # it stays pending/failed and is posted again later
            log.exception("recording the ERP result of reorder %s failed", rid)
