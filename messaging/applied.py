"""The applied shop config as long-running workers see it: read from the database, kept a while."""

from __future__ import annotations

import time

from core.db import SessionFactory
from core.shopconfig import ShopConfig, load_applied_config


class AppliedConfig:
    """`await config()`: the applied config, re-read at most every `ttl` seconds."""

    def __init__(self, sessions: SessionFactory, ttl: float = 30.0) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self._cfg: ShopConfig | None = None
        self._at = 0.0

    async def __call__(self) -> ShopConfig:
        if self._cfg is None or time.monotonic() - self._at > self.ttl:
            async with self.sessions() as session:
                self._cfg = await load_applied_config(session)
            self._at = time.monotonic()
        return self._cfg

    def forget(self) -> None:
        """Read it again next time (after `trustcart config apply` in tests)."""
        self._cfg = None
