"""The port every sender implements (Twilio, console), and the values that cross it.

SendError
├── retryable=False          a permanent refusal (invalid number, unknown template…), with its code
├── retryable=True           429 / concurrency limit: never processed, safe to send again later
└── uncertain=True           a timeout or 5xx: the provider may have created the message, so it
                             must be looked up (reconciled) before any resend
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """One message as the provider receives it."""

    message_id: int
    to: str  # "whatsapp:+8801…" or "+8801…"
    from_: str
    body: str | None  # free text (inside the window, or SMS)
    content_sid: str | None  # approved template (outside the window)
    content_variables: str | None  # JSON {"1": …}
    status_callback: str | None
    rendered: str  # the text the customer reads (for logs and reconciliation)
    template_key: str = ""
    # a template with no Content SID, outside the window: only a transport that merely shows
    # messages (the console) gets one; Twilio would refuse it (63016)
    unregistered_template: bool = False

    @property
    def channel(self) -> str:
        """whatsapp or sms, from the address."""
        return "whatsapp" if self.to.startswith("whatsapp:") else "sms"


@dataclass(frozen=True)
class Sent:
    sid: str
    status: str


@dataclass(frozen=True)
class ProviderMessage:
    """A message as the provider lists it (for reconciliation)."""

    sid: str
    to: str
    body: str
    status: str
    created_at: datetime | None


class SendError(Exception):
    """A send that did not go through (see the module docstring)."""

    def __init__(
        self,
        reason: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retryable: bool = False,
        uncertain: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.status = status
        self.retryable = retryable or uncertain
        self.uncertain = uncertain


class Transport(Protocol):
    """Sends messages and, when it can, lists what was sent to an address.

    A transport may also declare `shows_unregistered_templates = True` (the console): it is then
    given templates without a Content SID outside the window, rendered, instead of a 63016.
    """

    name: str

    async def start(self) -> None:
        """Open clients (inside the running event loop)."""

    async def close(self) -> None:
        """Close clients."""

    async def send(self, out: Outgoing) -> Sent:
        """Send one message; raises SendError."""
        ...

    async def recent_to(self, to: str, since: datetime) -> list[ProviderMessage] | None:
        """Messages sent to an address since an instant, newest first; None if it cannot tell."""
        ...
