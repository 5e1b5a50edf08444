"""The pieces of a WhatsApp end-to-end test: a moving clock, the fake Twilio, our web server with
the Twilio webhooks, a dispatcher driving the REAL twilio library, and a shop config whose
templates carry Content SIDs (registered on the fake with the same texts, as a shop would)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select

from core.clock import SHOP_TZ, local_date
from core.db import SessionFactory, unit_of_work
from core.models import Message
from core.outbox import OutgoingMessage, queue_messages
from core.shopconfig import ShopConfig
from core.shopconfig.loader import store_applied_config
from core.shopconfig.schema import TemplatesConfig
from handlers.whatsapp import TwilioWebhooks, setup_twilio_webhooks
from messaging.dispatcher import Dispatcher
from messaging.templates import Senders
from messaging.twilio_transport import TwilioTransport
from tests.factories import shop_config
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, sign

WHATSAPP_FROM = "whatsapp:+14155238886"
SMS_FROM = "+15005550006"
# templates that get an approved Content SID in the tests (others have none)
APPROVED = ("reminder", "late_touch", "cross_sell", "winback", "welcome_coupon", "reorder_confirm")
_sid_seq = itertools.count(1)


class MovingClock:
    """Real time, shifted: starts at a chosen local time of day and moves on from there."""

    def __init__(self, local: time = time(12, 0), day: date | None = None) -> None:
        today = day or datetime.now(SHOP_TZ).date()
        start = datetime.combine(today, local, tzinfo=SHOP_TZ).astimezone(UTC)
        self.offset = start - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)

    @property
    def today(self) -> date:
        return local_date(self())


def content_text(text: str, fields: list[str]) -> str:
    """Our `{name}` template text as registered with Meta: `{{1}}`, `{{2}}`, … in field order."""
    for i, name in enumerate(fields, start=1):
        text = text.replace("{" + name + "}", "{{" + str(i) + "}}")
    return text


def harness_config(**messaging: Any) -> ShopConfig:
    """The shipped config, with Content SIDs on APPROVED templates and test-speed messaging."""
    cfg = shop_config()
    templates = {}
    for key, tpl in cfg.templates.templates.items():
        if key in APPROVED:
            fields = tpl.content_variables or []
            if key == "reorder_confirm" and not fields:
                fields = ["items"]
            tpl = tpl.model_copy(
                update={
                    "content_sid": "HX" + uuid.uuid5(uuid.NAMESPACE_DNS, key).hex,
                    "content_variables": fields,
                }
            )
        templates[key] = tpl
    settings = {
        "rate_per_second": 500.0,
        "concurrency": 50,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 1.0,
        "claim_lease_seconds": 1,
    } | messaging
    return cfg.model_copy(
        update={
            "templates": TemplatesConfig(templates=templates),
            "messaging": cfg.messaging.model_copy(update=settings),
        }
    )


@dataclass
class Harness:
    sessions: SessionFactory
    fake: FakeTwilio
    clock: MovingClock
    cfg: ShopConfig
    hooks: TwilioWebhooks
    local_url: str
    public_url: str
    runner: web.AppRunner
    http: aiohttp.ClientSession
    dispatchers: list[Dispatcher] = field(default_factory=list)

    def dispatcher(self, transport: Any = None, **kw: Any) -> Dispatcher:
        """A dispatcher on the fake with the real twilio library (or the given transport)."""
        transport = transport or TwilioTransport(
            ACCOUNT_SID, AUTH_TOKEN, api_base_url=self.fake.base_url, timeout=0.5
        )
        senders = Senders(WHATSAPP_FROM, SMS_FROM, self.public_url)
        d = Dispatcher(
            self.sessions, transport, senders, clock=self.clock, housekeeping_seconds=0.1, **kw
        )
        self.dispatchers.append(d)
        return d

    async def processed(self) -> int:
        """Process every stored inbound message (and finish the ERP posts that caused)."""
        return await self.hooks.inbox.drain()

    async def drain(self, **kw: Any) -> Dispatcher:
        """Inbound processed, then one dispatcher drained once; callbacks delivered."""
        await self.processed()
        d = self.dispatcher(**kw)
        await d.drain_once()
        await self.fake.settle()
        return d

    async def queue(
        self,
        customer_id: int,
        template: str = "reminder",
        variables: dict[str, Any] | None = None,
        *,
        channel: str = "whatsapp",
        purpose: str = "marketing",
        key: str | None = None,
    ) -> Message:
        """Queue one message through the real outbox; returns its row."""
        key = key or f"test:{template}:{customer_id}:{next(_sid_seq)}"
        variables = {"product": "চাল", "quantity": "৫ কেজি"} if variables is None else variables
        async with unit_of_work(self.sessions) as session:
            result = await queue_messages(
                session,
                [OutgoingMessage(key, customer_id, channel, template, variables, purpose)],
                self.clock.today,
                self.cfg.messaging,
            )
            assert result.queued == 1, result
            return (await session.scalars(select(Message).where(Message.dedupe_key == key))).one()

    async def message(self, message_id: int) -> Message:
        async with self.sessions() as session:
            found = await session.get(Message, message_id)
            assert found is not None
            return found

    async def post(
        self,
        path: str,
        params: dict[str, str],
        *,
        signed_for: str | None = None,
        signature: str | None = None,
    ) -> int:
        """POST a form to our server; signed for `signed_for` (default: the public URL + path)."""
        headers = {}
        if signature is None and signed_for != "":
            signature = sign(AUTH_TOKEN, signed_for or f"{self.public_url}{path}", params)
        if signature:
            headers["X-Twilio-Signature"] = signature
        async with self.http.post(f"{self.local_url}{path}", data=params, headers=headers) as r:
            return r.status

    async def inbound(
        self, phone: str, body: str, *, process: bool = True, **kw: Any
    ) -> tuple[int, str]:
        """A customer's WhatsApp message, as Twilio posts it, then processed (unless `process`
        is False); returns (status, MessageSid)."""
        sid = "SM" + uuid.uuid4().hex
        params = {
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{phone}",
            "To": WHATSAPP_FROM,
            "Body": body,
            "MessageSid": sid,
            "SmsSid": sid,
            "WaId": phone.lstrip("+"),
            "ProfileName": "Rahima",
            "NumMedia": "0",
        }
        status = await self.post("/twilio/inbound", params, **kw)
        if process:
            await self.processed()
        return status, sid


async def start_harness(
    sessions: SessionFactory,
    fake: FakeTwilio,
    clock: MovingClock,
    public_url: str | None = None,
    **messaging: Any,
) -> Harness:
    """Apply the test config, start our web server; public_url None = the local URL itself."""
    cfg = harness_config(**messaging)
    async with unit_of_work(sessions) as session:
        await store_applied_config(session, cfg)
    for key in APPROVED:
        tpl = cfg.templates.templates[key]
        assert tpl.content_sid
        fake.register_content(tpl.content_sid, content_text(tpl.bn, tpl.content_variables))
    app = web.Application()
    hooks = setup_twilio_webhooks(
        app, sessions, auth_token=AUTH_TOKEN, public_base_url="", clock=clock
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    local = f"http://{host}:{port}"
    public = (public_url or local).rstrip("/")
    hooks.checker.public_base_url = public
    if public != local:
        fake.callback_rewrite = (public, local)  # the proxy in front of us
    return Harness(
        sessions, fake, clock, cfg, hooks, local, public, runner, aiohttp.ClientSession()
    )


async def stop_harness(h: Harness) -> None:
    for d in h.dispatchers:
        await d.stop()
    # the status callbacks Twilio still owes reach the process before it stops (a test that
    # ends right after a send would otherwise race them against the server's shutdown)
    await h.fake.settle()
    await h.http.close()
    await h.runner.cleanup()
