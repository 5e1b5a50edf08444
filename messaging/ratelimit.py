"""A token bucket for the global send rate, adjustable while running (slow down on 63018/429)."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """`rate` tokens a second, bursts up to `burst`; `acquire` waits for a token."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def set_rate(self, rate: float) -> None:
        """Change the rate (the burst follows it)."""
        self._refill()
        self.rate = max(0.1, rate)
        self.burst = max(1.0, self.rate / 10)
        self._tokens = min(self._tokens, self.burst)

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        """Take one token, waiting as long as needed (callers are served in order)."""
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)
