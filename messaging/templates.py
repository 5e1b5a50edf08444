"""Turning a claimed outbox row into what the provider receives, by WhatsApp's rules.

- SMS: the rendered text as Body.
- WhatsApp inside the customer's 24-hour window (their last message + service_window_hours):
  free text as Body.
- WhatsApp outside it (or a resend forced to `template` after error 63016): the approved
  template's ContentSid with ContentVariables {"1": …, "2": …} in the order of
  `content_variables`; no Body. Without an approved template the message cannot go.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from core.dispatch import Claimed, window_open
from core.shopconfig import ShopConfig
from core.texts import render
from messaging.transport import Outgoing


class CannotCompose(Exception):
    """The message cannot be sent as it is (no such template, no approved template, no sender)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Senders:
    """Our addresses and where the provider reports delivery."""

    whatsapp_from: str = ""
    sms_from: str = ""
    public_base_url: str = ""

    def status_callback(self, message_id: int) -> str | None:
        """The status callback URL, marked with our message id (for reconciliation)."""
        if not self.public_base_url:
            return None
        return f"{self.public_base_url.rstrip('/')}/twilio/status?m={message_id}"


def whatsapp_address(phone: str) -> str:
    """`whatsapp:+8801…` for an E.164 number (or an address that already has the prefix)."""
    return phone if phone.startswith("whatsapp:") else f"whatsapp:{phone}"


def compose(
    claimed: Claimed,
    cfg: ShopConfig,
    now: datetime,
    senders: Senders,
    *,
    show_unregistered: bool = False,
) -> Outgoing:
    """The provider request for a claimed message; raises CannotCompose.

    `show_unregistered` (the console transport): a template without a Content SID outside the
    window is passed on rendered and marked, instead of failing with 63016.
    """
    key = claimed.template_key
    template = cfg.templates.templates.get(key)
    if template is None:
        raise CannotCompose("no_template", f"unknown template {claimed.template_key!r}")
    lang = claimed.language if claimed.language in ("bn", "en") else "bn"
    text = render(template.bn if lang == "bn" else template.en, claimed.variables, lang)
    callback = senders.status_callback(claimed.id)
    if claimed.channel == "sms":
        if not senders.sms_from:
            raise CannotCompose("no_sender", "TWILIO_SMS_FROM is not set")
        return Outgoing(
            claimed.id, claimed.phone, senders.sms_from, text, None, None, callback, text, key
        )
    if not senders.whatsapp_from:
        raise CannotCompose("no_sender", "TWILIO_WHATSAPP_FROM is not set")
    to, from_ = whatsapp_address(claimed.phone), whatsapp_address(senders.whatsapp_from)
    hours = cfg.messaging.service_window_hours
    if claimed.send_as != "template" and window_open(claimed.last_inbound_at, now, hours):
        return Outgoing(claimed.id, to, from_, text, None, None, callback, text, key)
    if not template.content_sid and show_unregistered:
        return Outgoing(
            claimed.id, to, from_, None, None, None, callback, text, key, unregistered_template=True
        )
    if not template.content_sid:
        raise CannotCompose(
            "63016",
            f"outside the {hours}-hour window and template {claimed.template_key!r} "
            "has no approved content_sid",
        )
    variables = {
        str(i): render("{" + name + "}", claimed.variables, lang)
        for i, name in enumerate(template.content_variables, start=1)
    }
    content_variables = json.dumps(variables, ensure_ascii=False) if variables else None
    return Outgoing(
        claimed.id, to, from_, None, template.content_sid, content_variables, callback, text, key
    )
