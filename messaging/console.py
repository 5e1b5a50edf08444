"""The development transport: prints each rendered message instead of sending it."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime
from typing import TextIO

from messaging.transport import Outgoing, ProviderMessage, Sent


class ConsoleTransport:
    """Prints messages (used by `make demo` and whenever Twilio settings are absent)."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.sent = 0

    async def start(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def send(self, out: Outgoing) -> Sent:
        """Print the message as the customer would read it."""
        how = (
            f"template {out.content_sid} {out.content_variables or ''}"
            if out.content_sid
            else "text"
        )
        print(f"[{out.to} ← {out.from_} · {how}]\n{out.rendered}\n", file=self.stream or sys.stdout)
        self.sent += 1
        return Sent(sid=f"CN{uuid.uuid4().hex}", status="sent")

    async def recent_to(self, to: str, since: datetime) -> list[ProviderMessage] | None:
        """The console keeps no history: a message left `sending` is printed again."""
        return []
