"""Twilio webhooks: delivery status callbacks and inbound WhatsApp/SMS messages.

Both check `X-Twilio-Signature` against PUBLIC_BASE_URL + the request's path and query (the URL
Twilio called, which behind a proxy is not the one this server sees); a missing or wrong
signature is answered 403 and nothing is stored. Both answer only after what they received is
committed (group commit: many requests share one transaction), and 500 when it could not be, so
Twilio retries. An inbound message is only stored here; the inbox worker (started and stopped
with this web app) processes it and queues the reply, waking the dispatcher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from core.clock import Clock, system_clock
from core.db import SessionFactory
from core.inbox import Received
from messaging.applied import AppliedConfig
from messaging.erp import ErpPoster
from messaging.inbox import Inbox
from messaging.statuses import StatusRecorder, StatusUpdate
from messaging.webhooks import SignatureChecker

log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@dataclass
class TwilioWebhooks:
    """What the two webhooks need: the signature check, the inbox and the status recorder."""

    checker: SignatureChecker
    inbox: Inbox
    statuses: StatusRecorder
    clock: Clock = system_clock

    def connect_dispatcher(self, wake: Callable[[], None]) -> None:
        """Let replies and resends go at once: call the dispatcher's `wake` when one is queued."""
        self.inbox.wake = wake
        self.statuses.wake = wake


TWILIO_WEBHOOKS = web.AppKey("twilio_webhooks", TwilioWebhooks)


async def _signed_params(request: web.Request) -> dict[str, str] | None:
    hooks = request.app[TWILIO_WEBHOOKS]
    params = await request.post()
    signature = request.headers.get("X-Twilio-Signature")
    if not hooks.checker.valid(request.path_qs, params, signature):
        log.warning("rejected %s: bad or missing X-Twilio-Signature", request.path)
        return None
    return {k: str(v) for k, v in params.items()}


async def status_webhook(request: web.Request) -> web.Response:
    """POST /twilio/status: a message's delivery status moved (or was reported again)."""
    params = await _signed_params(request)
    if params is None:
        return web.Response(status=403, text="invalid signature")
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        return web.Response(status=400, text="MessageSid and MessageStatus are required")
    marker = request.query.get("m", "")
    hooks = request.app[TWILIO_WEBHOOKS]
    update = StatusUpdate(
        sid=sid,
        provider_status=status,
        received_at=hooks.clock(),
        message_id=int(marker) if marker.isdigit() else None,
        error_code=params.get("ErrorCode") or None,
        error_message=params.get("ErrorMessage") or None,
    )
    try:
        await hooks.statuses.record(update)
    except Exception:  # not recorded: Twilio retries a 5xx
        log.exception("status callback for %s not recorded", sid)
        return web.Response(status=500, text="not recorded")
    return web.Response(status=204)


async def inbound_webhook(request: web.Request) -> web.Response:
    """POST /twilio/inbound: a customer wrote to us; stored, processed in the background."""
    params = await _signed_params(request)
    if params is None:
        return web.Response(status=403, text="invalid signature")
    sender, sid = params.get("From", ""), params.get("MessageSid") or params.get("SmsSid", "")
    if not sender or not sid:
        return web.Response(status=400, text="From and MessageSid are required")
    hooks = request.app[TWILIO_WEBHOOKS]
    received = Received(
        provider_sid=sid,
        sender=sender,
        body=params.get("Body", ""),
        received_at=hooks.clock(),
        params=params,
    )
    try:
        await hooks.inbox.receive(received)
    except Exception:  # not stored: Twilio retries a 5xx
        log.exception("inbound %s not stored", sid)
        return web.Response(status=500, text="not stored")
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


def setup_twilio_webhooks(
    app: web.Application,
    sessions: SessionFactory,
    *,
    auth_token: str,
    public_base_url: str,
    erp_order_webhook_url: str = "",
    clock: Clock = system_clock,
) -> TwilioWebhooks:
    """Add POST /twilio/status and /twilio/inbound; the inbox worker runs with the app.

    Call `connect_dispatcher(dispatcher.wake)` on the result (or `app[TWILIO_WEBHOOKS]`) where
    a dispatcher runs in the same process.
    """
    config = AppliedConfig(sessions)
    erp = ErpPoster(sessions, erp_order_webhook_url) if erp_order_webhook_url else None
    hooks = TwilioWebhooks(
        checker=SignatureChecker(auth_token, public_base_url),
        inbox=Inbox(sessions, config, clock=clock, erp=erp),
        statuses=StatusRecorder(sessions, config),
        clock=clock,
    )
    if not auth_token or not public_base_url:
        log.warning("TWILIO_AUTH_TOKEN or PUBLIC_BASE_URL unset: Twilio webhooks will answer 403")
    app[TWILIO_WEBHOOKS] = hooks

    async def start(_: web.Application) -> None:
        hooks.inbox.start()

    async def stop(_: web.Application) -> None:
        await hooks.statuses.writer.stop()
        await hooks.inbox.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/twilio/status", status_webhook)
    app.router.add_post("/twilio/inbound", inbound_webhook)
    return hooks
