"""Posting a customer's reorder to the shop's ERP (ERP_ORDER_WEBHOOK_URL), with retries."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import aiohttp

from core.db import SessionFactory, write_unit_of_work
from core.replies import record_erp_result

log = logging.getLogger(__name__)


async def post_reorder(
    sessions: SessionFactory,
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = 5,
    base_delay: float = 1.0,
    request_seconds: float = 10.0,
) -> bool:
    """POST the reorder as JSON; 5xx, 429 and network errors retry with backoff; records the result."""
    ok, tries = False, 0
    client_timeout = aiohttp.ClientTimeout(total=request_seconds)
    async with aiohttp.ClientSession(timeout=client_timeout) as http:
        for tries in range(1, attempts + 1):
            try:
                async with http.post(url, json=payload) as response:
                    if response.status < 300:
                        ok = True
                        break
                    if response.status < 500 and response.status != 429:
                        log.warning(
                            "ERP refused reorder %s: %s",
                            payload.get("reorder_request_id"),
                            response.status,
                        )
                        break
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("ERP post failed (attempt %s): %s", tries, exc)
            if tries < attempts:
                await asyncio.sleep(base_delay * 2 ** (tries - 1) * (0.5 + random.random() / 2))
    async with write_unit_of_work(sessions) as session:
        await record_erp_result(session, int(payload["reorder_request_id"]), ok, tries)
    return ok
