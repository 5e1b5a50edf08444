"""Twilio webhooks: delivery status callbacks and inbound WhatsApp/SMS messages.

Both check `X-Twilio-Signature` against PUBLIC_BASE_URL + the request's path and query (the URL
Twilio called, which behind a proxy is not the one this server sees); a missing or wrong
signature is answered 403 and nothing is stored. The work itself is core's: `record_status`
and `handle_inbound`, each in one transaction. Replies go through the outbox (the dispatcher is
woken at once); a reorder is posted to the ERP in the background when ERP_ORDER_WEBHOOK_URL is set.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from core.clock import Clock, system_clock
from core.db import SessionFactory, write_unit_of_work
from core.delivery import record_status
from core.errors import InvalidInput
from core.replies import Inbound, handle_inbound
from core.shopconfig import ShopConfig, load_applied_config
from messaging.erp import post_reorder
from messaging.webhooks import SignatureChecker

log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@dataclass
class TwilioWebhooks:
    """What the two webhooks need; `wake` is set by whoever runs the dispatcher."""

    sessions: SessionFactory
    checker: SignatureChecker
    erp_order_webhook_url: str = ""
    clock: Clock = system_clock
    wake: Callable[[], None] | None = None
    config_ttl: float = 30.0
    erp_retry_base: float = 1.0  # seconds before the first ERP retry (doubles)
    _cfg: ShopConfig | None = None
    _cfg_at: float = 0.0
    background: set[asyncio.Task[bool]] = field(default_factory=set)

    async def config(self) -> ShopConfig:
        """The applied shop config, re-read every `config_ttl` seconds."""
        if self._cfg is None or time.monotonic() - self._cfg_at > self.config_ttl:
            async with self.sessions() as session:
                self._cfg = await load_applied_config(session)
            self._cfg_at = time.monotonic()
        return self._cfg


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
    cfg = await hooks.config()
    async with write_unit_of_work(hooks.sessions) as session:
        result = await record_status(
            session,
            sid=sid,
            provider_status=status,
            now=hooks.clock(),
            cfg=cfg,
            message_id=int(marker) if marker.isdigit() else None,
            error_code=params.get("ErrorCode") or None,
            error_message=params.get("ErrorMessage") or None,
        )
    if result.actions and hooks.wake is not None:
        hooks.wake()  # a fallback or resend was queued
    return web.Response(status=204)


async def inbound_webhook(request: web.Request) -> web.Response:
    """POST /twilio/inbound: a customer wrote to us."""
    params = await _signed_params(request)
    if params is None:
        return web.Response(status=403, text="invalid signature")
    sender, sid = params.get("From", ""), params.get("MessageSid") or params.get("SmsSid", "")
    if not sender or not sid:
        return web.Response(status=400, text="From and MessageSid are required")
    hooks = request.app[TWILIO_WEBHOOKS]
    inbound = Inbound(
        sender=sender,
        body=params.get("Body", ""),
        provider_sid=sid,
        received_at=hooks.clock(),
        profile_name=params.get("ProfileName") or None,
    )
    cfg = await hooks.config()
    try:
        async with write_unit_of_work(hooks.sessions) as session:
            result = await handle_inbound(session, inbound, cfg)
    except InvalidInput as exc:  # not a Bangladeshi mobile: nothing we can act on
        log.info("inbound from %s ignored: %s", sender, exc)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")
    if result.replies_queued and hooks.wake is not None:
        hooks.wake()
    if result.erp_payload and hooks.erp_order_webhook_url:
        task = asyncio.create_task(
            post_reorder(
                hooks.sessions,
                hooks.erp_order_webhook_url,
                result.erp_payload,
                base_delay=hooks.erp_retry_base,
            )
        )
        hooks.background.add(task)
        task.add_done_callback(hooks.background.discard)
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


async def _finish_background(app: web.Application) -> None:
    tasks = list(app[TWILIO_WEBHOOKS].background)
    if tasks:
        await asyncio.wait(tasks, timeout=30)


def setup_twilio_webhooks(
    app: web.Application,
    sessions: SessionFactory,
    *,
    auth_token: str,
    public_base_url: str,
    erp_order_webhook_url: str = "",
    clock: Clock = system_clock,
) -> TwilioWebhooks:
    """Add POST /twilio/status and /twilio/inbound; set `.wake` to the dispatcher's `wake`."""
    hooks = TwilioWebhooks(
        sessions=sessions,
        checker=SignatureChecker(auth_token, public_base_url),
        erp_order_webhook_url=erp_order_webhook_url,
        clock=clock,
    )
    if not auth_token or not public_base_url:
        log.warning("TWILIO_AUTH_TOKEN or PUBLIC_BASE_URL unset: Twilio webhooks will answer 403")
    app[TWILIO_WEBHOOKS] = hooks
    app.router.add_post("/twilio/status", status_webhook)
    app.router.add_post("/twilio/inbound", inbound_webhook)
    app.on_cleanup.append(_finish_background)
    return hooks
