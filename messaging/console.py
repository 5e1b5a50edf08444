"""The development transport: prints each rendered message instead of sending it."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime
from typing import TextIO

from messaging.transport import Outgoing, ProviderMessage, Sent


def console_block(out: Outgoing) -> str:
    """One message as a readable block: channel, to, template or free text, then the body."""
    if out.unregistered_template:
        how = f"template {out.template_key} (no Content SID registered)"
    elif out.content_sid:
        how = f"template {out.template_key} ({out.content_sid})"
        if out.content_variables:
            how += f" variables {out.content_variables}"
    else:
        how = "free text"
    channel = "WhatsApp" if out.channel == "whatsapp" else "SMS"
    to = out.to.removeprefix("whatsapp:")
    return f"── {channel} to {to} · message {out.message_id}\n   {how}\n{out.rendered}\n"


class ConsoleTransport:
    """Prints messages (used by `make demo` and whenever Twilio settings are absent)."""

    name = "console"
    # Development has no approved templates: show the template's text rather than fail (63016).
    shows_unregistered_templates = True

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.sent = 0

    async def start(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def send(self, out: Outgoing) -> Sent:
        """Print the message as the customer would read it."""
        print(console_block(out), file=self.stream or sys.stdout)
        self.sent += 1
        return Sent(sid=f"CN{uuid.uuid4().hex}", status="sent")

    async def recent_to(self, to: str, since: datetime) -> list[ProviderMessage] | None:
        """The console keeps no history: a message left `sending` is printed again."""
        return []
