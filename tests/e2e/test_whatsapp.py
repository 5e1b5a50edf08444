"""WhatsApp end to end: the REAL twilio library against the spec-checking fake Twilio, our aiohttp
webhooks, and the outbox on SQLite and PostgreSQL (the `engine` fixture runs each test on both)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import SHOP_TZ
from core.db import make_engine, make_session_factory, unit_of_work
from core.deliverability import delivery_errors
from core.dispatch import claim_due
from core.models import (
    ConsentEvent,
    Customer,
    Engagement,
    InboundMessage,
    Message,
    ReorderRequest,
    Task,
)
from core.outbox import OutgoingMessage, queue_messages
from core.tasks import task_priority
from messaging.erp import ErpPoster
from messaging.service import POSTGRES_STARTUP_GRACE
from messaging.transport import Outgoing, Sent
from messaging.twilio_transport import TwilioTransport
from tests.e2e.whatsapp_harness import (
    SMS_FROM,
    WHATSAPP_FROM,
    Harness,
    MovingClock,
    start_harness,
    stop_harness,
)
from tests.factories import make_agent, make_customer, make_message
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, Failure, FakeTwilio


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(time(12, 0))


@pytest.fixture
async def fake(clock: MovingClock) -> AsyncIterator[FakeTwilio]:
    server = FakeTwilio(clock=clock, hang_seconds=1.5)
    await server.start()
    yield server
    await server.stop()
    assert server.violations == [], server.violations


@pytest.fixture
async def h(engine: AsyncEngine, fake: FakeTwilio, clock: MovingClock) -> AsyncIterator[Harness]:
    harness = await start_harness(make_session_factory(engine), fake, clock)
    yield harness
    await stop_harness(harness)


async def customer(h: Harness, **kw: object) -> Customer:
    async with unit_of_work(h.sessions) as session:
        return await make_customer(session, **kw)


def creates(fake: FakeTwilio) -> list[dict[str, str]]:
    return [form for method, path, form in fake.requests if method == "POST"]


# --- the 24-hour window, SMS, callbacks -------------------------------------------------------


async def test_outside_the_window_a_template_goes_with_content_sid(h: Harness) -> None:
    c = await customer(h, last_inbound_at=None)
    m = await h.queue(c.id, "reminder", {"product": "চাল", "quantity": "৫ কেজি"})
    await h.drain()
    [form] = creates(h.fake)
    tpl = h.cfg.templates.get("reminder")
    assert form["ContentSid"] == tpl.content_sid and "Body" not in form
    assert json.loads(form["ContentVariables"]) == {"1": "চাল", "2": "৫ কেজি"}
    assert form["To"] == f"whatsapp:{c.phone}" and form["From"] == WHATSAPP_FROM
    assert form["StatusCallback"] == f"{h.public_url}/twilio/status?m={m.id}"
    done = await h.message(m.id)
    assert done.status == "read" and done.provider_sid and done.provider_sid.startswith("SM")
    assert done.sent_at and done.delivered_at and done.read_at
    assert list(h.fake.counts.values()) == [1]


async def test_inside_the_window_free_text_goes_as_body(h: Harness) -> None:
    c = await customer(h, last_inbound_at=h.clock() - timedelta(hours=3), language="bn")
    m = await h.queue(c.id, "reminder", {"product": "চাল", "quantity": "৫ কেজি"})
    await h.drain()
    [form] = creates(h.fake)
    assert "ContentSid" not in form
    assert form["Body"].startswith("আসসালামু আলাইকুম, আপনার আগের চাল") and "৫ কেজি" in form["Body"]
    assert (await h.message(m.id)).body == form["Body"]


async def test_window_closes_after_24_hours(h: Harness) -> None:
    c = await customer(h, last_inbound_at=h.clock() - timedelta(hours=24, minutes=1))
    await h.queue(c.id)
    await h.drain()
    assert "ContentSid" in creates(h.fake)[0]


async def test_sms_customers_get_body_from_the_sms_number(h: Harness) -> None:
    c = await customer(h, language="en")
    m = await h.queue(c.id, "winback", {"coupon": "WB-1"}, channel="sms")
    await h.drain()
    [form] = creates(h.fake)
    assert form == {
        "To": c.phone,
        "From": SMS_FROM,
        "Body": "We have not seen your order for a long time. Use this coupon to come back: WB-1",
        "StatusCallback": f"{h.public_url}/twilio/status?m={m.id}",
    }
    assert (await h.message(m.id)).status == "delivered"


async def test_out_of_order_and_repeated_callbacks_only_move_forward(
    engine: AsyncEngine, clock: MovingClock
) -> None:
    fake = FakeTwilio(clock=clock, shuffle_callbacks=True)
    await fake.start()
    h = await start_harness(make_session_factory(engine), fake, clock)
    try:
        c = await customer(h)
        ids = [(await h.queue(c.id, key=f"ooo:{i}", purpose="service")).id for i in range(6)]
        await h.drain()
        for mid in ids:
            assert (await h.message(mid)).status == "read"
        m = await h.message(ids[0])
        again = {"MessageSid": m.provider_sid or "", "MessageStatus": "delivered"}
        assert await h.post("/twilio/status", again) == 204
        assert (
            await h.post(
                "/twilio/status", {**again, "MessageStatus": "failed", "ErrorCode": "30008"}
            )
            == 204
        )
        after = await h.message(ids[0])
        assert (after.status, after.error_code, after.read_at) == ("read", None, m.read_at)
        assert await h.post("/twilio/status", again, signature="forged") == 403
        assert fake.violations == []
    finally:
        await stop_harness(h)
        await fake.stop()


# --- inbound: signatures, proxy ---------------------------------------------------------------


async def count(h: Harness, model: type) -> int:
    async with h.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_inbound_valid_forged_and_missing_signature(h: Harness) -> None:
    c = await customer(h)
    status, _ = await h.inbound(c.phone, "কবে ডেলিভারি হবে?")
    assert status == 200 and await count(h, Engagement) == 1
    assert (await h.inbound(c.phone, "forged", signature="bm90IGEgc2lnbmF0dXJl"))[0] == 403
    assert (await h.inbound(c.phone, "unsigned", signed_for=""))[0] == 403
    wrong_url = f"{h.public_url}/twilio/other"
    assert (await h.inbound(c.phone, "wrong url", signed_for=wrong_url))[0] == 403
    assert await count(h, Engagement) == 1


async def test_inbound_behind_a_proxy_validates_against_the_public_url(
    engine: AsyncEngine, fake: FakeTwilio, clock: MovingClock
) -> None:
    h = await start_harness(
        make_session_factory(engine), fake, clock, public_url="https://shop.example.com/"
    )
    try:
        c = await customer(h)
        assert h.local_url.startswith("http://127.0.0.1")
        assert (await h.inbound(c.phone, "hello"))[0] == 200  # signed for https://shop.example.com
        local = f"{h.local_url}/twilio/inbound"
        assert (await h.inbound(c.phone, "hello", signed_for=local))[0] == 403
        m = await h.queue(c.id, purpose="service")
        await h.drain()  # callbacks go to the public URL; the "proxy" forwards them
        assert (await h.message(m.id)).status == "read"
        assert all(s == 204 for _, _, s in fake.callback_log)
    finally:
        await stop_harness(h)


async def test_retried_inbound_webhook_is_logged_once(h: Harness) -> None:
    c = await customer(h)
    params = {"From": f"whatsapp:{c.phone}", "Body": "হ্যাঁ", "MessageSid": "SM" + "a" * 32}
    assert await h.post("/twilio/inbound", params) == 200
    await h.processed()
    assert await h.post("/twilio/inbound", params) == 200
    await h.processed()
    assert await count(h, Engagement) == 1 and await count(h, ReorderRequest) == 1
    assert await count(h, InboundMessage) == 1


# --- the demo story: reminder → "হ্যাঁ ৫ কেজি" → reorder task, confirmation, ERP --------------


async def test_reply_yes_reorders_with_an_urgent_task_and_a_confirmation(h: Harness) -> None:
    got: list[dict[str, object]] = []

    async def erp(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=503 if len(got) == 1 else 201)  # fails once, then accepts

    erp_app = web.Application()
    erp_app.router.add_post("/orders", erp)
    runner = web.AppRunner(erp_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    h.hooks.inbox.erp = ErpPoster(h.sessions, f"http://{host}:{port}/orders", base_delay=0.01)
    try:
        async with unit_of_work(h.sessions) as session:
            agent = await make_agent(session)
            c = await make_customer(
                session, assigned_agent_id=agent.id, priority_level="warm", last_inbound_at=None
            )
        reminder = await h.queue(c.id, "reminder", {"product": "চাল", "quantity": "৫ কেজি"})
        await h.drain()
        assert "ContentSid" in creates(h.fake)[0]  # outside the window: the template
        status, sid = await h.inbound(c.phone, "হ্যাঁ ৫ কেজি")
        assert status == 200
        async with h.sessions() as session:
            engagement = await session.scalar(select(Engagement))
            assert engagement is not None
            assert (engagement.direction, engagement.channel, engagement.message_id) == (
                "in",
                "whatsapp",
                reminder.id,
            )
            request = await session.scalar(select(ReorderRequest))
            assert request is not None and request.items[0]["quantity"] == "৫ কেজি"
            assert request.items[0]["product"] == "চাল"
            task = await session.get(Task, request.task_id)
            assert task is not None and (task.type, task.agent_id) == ("reorder", agent.id)
            assert task.priority >= task_priority("hot", 999_999) and task.due_date == h.clock.today
            refreshed = await session.get(Customer, c.id)
            assert refreshed is not None and refreshed.last_inbound_at is not None
        await h.drain()  # the confirmation: free text now, the window is open
        confirm = creates(h.fake)[-1]
        assert "Body" in confirm and "চাল ৫ কেজি" in confirm["Body"]
        assert confirm["Body"].startswith("ধন্যবাদ! আপনার অর্ডার")
        async with h.sessions() as session:
            request = await session.scalar(select(ReorderRequest))
            assert request is not None and (request.erp_status, request.erp_attempts) == ("sent", 2)
        assert got[-1]["items"] == request.items
    finally:
        await runner.cleanup()


async def test_unknown_number_becomes_a_prospect_with_inbound_consent(h: Harness) -> None:
    status, _ = await h.inbound("+8801911000111", "price of honey?")
    assert status == 200
    async with h.sessions() as session:
        c = await session.scalar(select(Customer).where(Customer.phone == "+8801911000111"))
        assert c is not None and c.lifecycle_stage == "prospect" and c.name == "Rahima"
        event = await session.scalar(select(ConsentEvent).where(ConsentEvent.customer_id == c.id))
        assert event is not None and (event.kind, event.source) == ("opt_in", "inbound")
        support = await session.scalar(select(Task).where(Task.customer_id == c.id))
        assert support is not None and support.type == "support"


async def test_stop_opts_out_and_marketing_stops_but_a_question_with_stop_does_not(
    h: Harness,
) -> None:
    c = await customer(h)
    queued = await h.queue(c.id, "winback", {"coupon": "WB"})
    assert (await h.inbound(c.phone, "stop sending rice?"))[0] == 200
    async with h.sessions() as session:
        fresh = await session.get(Customer, c.id)
        assert fresh is not None and fresh.opted_out_at is None
    assert (await h.inbound(c.phone, "বন্ধ"))[0] == 200
    async with h.sessions() as session:
        fresh = await session.get(Customer, c.id)
        assert fresh is not None and fresh.opted_out_at is not None
        kinds = (await session.scalars(select(ConsentEvent.kind))).all()
        assert "opt_out" in kinds
    assert (await h.message(queued.id)).status == "cancelled"
    await h.drain()
    bodies = [f.get("Body", "") for f in creates(h.fake)]
    assert any(b.startswith("আপনাকে আর অফার বা রিমাইন্ডার পাঠানো হবে না") for b in bodies)
    assert not any("WB" in b for b in bodies)
    assert (await h.inbound(c.phone, "START"))[0] == 200
    async with h.sessions() as session:
        fresh = await session.get(Customer, c.id)
        assert fresh is not None and fresh.opted_out_at is None


async def test_opt_out_is_rechecked_at_send_time(h: Harness) -> None:
    c = await customer(h)
    m = await h.queue(c.id)
    async with unit_of_work(h.sessions) as session:
        fresh = await session.get(Customer, c.id)
        assert fresh is not None
        fresh.opted_out_at = h.clock()  # opted out through another path after queueing
    await h.drain()
    done = await h.message(m.id)
    assert (done.status, done.error_code) == ("cancelled", "opted_out")
    assert h.fake.created == 0


# --- error codes → actions -------------------------------------------------------------------


async def test_63016_outside_window_resends_as_template(h: Harness) -> None:
    c = await customer(h, last_inbound_at=h.clock() - timedelta(hours=2))
    h.fake.fail_on_callback(f"whatsapp:{c.phone}", "63016", "undelivered")
    m = await h.queue(c.id)
    await h.drain()
    first = await h.message(m.id)
    assert (first.status, first.error_code) == ("undelivered", "63016")
    h.fake.fail_on_callback(f"whatsapp:{c.phone}", "", "read")  # delivered from now on
    h.fake._callback_failures.clear()
    await h.drain()
    forms = creates(h.fake)
    assert "Body" in forms[0] and "ContentSid" in forms[1]
    async with h.sessions() as session:
        resend = await session.scalar(
            select(Message).where(Message.dedupe_key == f"{m.dedupe_key}:template")
        )
        assert resend is not None and (resend.send_as, resend.status) == ("template", "read")


async def test_63016_without_an_approved_template_becomes_a_call_task(h: Harness) -> None:
    c = await customer(h, last_inbound_at=None)
    m = await h.queue(c.id, "birthday", {"name": "Rina", "discount": 10, "coupon": "BD"})
    await h.drain()
    assert h.fake.created == 0
    done = await h.message(m.id)
    assert (done.status, done.error_code) == ("failed", "63016")
    async with h.sessions() as session:
        task = await session.scalar(select(Task).where(Task.dedupe_key == f"undelivered:{m.id}"))
        assert task is not None and task.customer_id == c.id


async def test_63024_not_on_whatsapp_falls_back_to_sms_and_calls_hot(h: Harness) -> None:
    c = await customer(h, priority_level="hot")
    h.fake.fail_on_callback(f"whatsapp:{c.phone}", "63024")
    m = await h.queue(c.id)
    await h.drain()
    await h.drain()
    sms = creates(h.fake)[-1]
    assert sms["To"] == c.phone and sms["From"] == SMS_FROM and "চাল" in sms["Body"]
    async with h.sessions() as session:
        fresh = await session.get(Customer, c.id)
        assert fresh is not None and fresh.whatsapp_status == "no"
        fallback = await session.scalar(
            select(Message).where(Message.dedupe_key == f"{m.dedupe_key}:sms")
        )
        assert fallback is not None and fallback.status == "delivered"
        assert await session.scalar(select(Task).where(Task.dedupe_key == f"undelivered:{m.id}"))


async def test_63014_blocked_stops_whatsapp_marketing(h: Harness) -> None:
    c = await customer(h)
    h.fake.fail_on_callback(f"whatsapp:{c.phone}", "63014")
    await h.queue(c.id)
    async with unit_of_work(h.sessions) as session:  # queued before the block was known
        earlier = await make_message(session, c.id, queued_on=h.clock.today, dedupe_key="early")
    await h.drain()  # the first goes (and is blocked); the second is over today's budget
    assert (await h.message(earlier.id)).send_on > h.clock.today
    h.clock.advance(days=1)
    await h.drain()
    assert h.fake.created == 1
    done = await h.message(earlier.id)
    assert (done.status, done.error_code) == ("cancelled", "whatsapp_blocked")
    async with unit_of_work(h.sessions) as session:
        result = await queue_messages(
            session,
            [OutgoingMessage("later", c.id, "whatsapp", "winback", {"coupon": "X"})],
            h.clock.today,
            h.cfg.messaging,
        )
    assert result.skipped == {"whatsapp_blocked": 1}


async def test_63049_meta_cap_pauses_the_customer_and_tries_later(h: Harness) -> None:
    c = await customer(h)
    h.fake.fail_on_callback(f"whatsapp:{c.phone}", "63049")
    m = await h.queue(c.id)
    await h.drain()
    await h.drain()
    assert h.fake.created == 1
    async with h.sessions() as session:
        fresh = await session.get(Customer, c.id)
        assert fresh is not None and fresh.marketing_paused_until is not None
        assert fresh.marketing_paused_until > h.clock() + timedelta(days=6)
        later = await session.scalar(
            select(Message).where(Message.dedupe_key == f"{m.dedupe_key}:later")
        )
        assert later is not None and later.status == "queued"
        assert later.not_before == fresh.marketing_paused_until


async def test_63018_rate_limit_retries_later_and_slows_the_dispatcher(h: Harness) -> None:
    c = await customer(h)
    h.fake.fail_on_callback(f"whatsapp:{c.phone}", "63018")
    m = await h.queue(c.id)
    d = await h.drain()
    async with h.sessions() as session:
        retry = await session.scalar(
            select(Message).where(Message.dedupe_key == f"{m.dedupe_key}:retry")
        )
        assert retry is not None and retry.not_before is not None
    await d._housekeeping()
    assert d._bucket is not None and d._bucket.rate == pytest.approx(
        h.cfg.messaging.rate_per_second / 2
    )


async def test_invalid_number_21211_marks_the_phone(h: Harness) -> None:
    c = await customer(h)
    h.fake.invalid_numbers.add(c.phone)
    m = await h.queue(c.id)
    await h.drain()
    done = await h.message(m.id)
    assert (done.status, done.error_code) == ("failed", "21211")
    async with h.sessions() as session:
        fresh = await session.get(Customer, c.id)
        assert fresh is not None and fresh.phone_valid is False
        since = h.clock() - timedelta(hours=1)
        assert await delivery_errors(session, since) == {"21211": 1}


async def test_429_and_20429_retry_with_backoff_then_send_once(h: Harness) -> None:
    c = await customer(h)
    h.fake.fail_next(
        Failure(status=429, code=20429, message="Too many concurrent requests", times=2)
    )
    m = await h.queue(c.id)
    d = h.dispatcher()
    for _ in range(3):
        await d.drain_once()
        h.clock.advance(seconds=2)
    await h.fake.settle()
    done = await h.message(m.id)
    assert done.status == "read" and done.attempts == 3
    assert list(h.fake.counts.values()) == [1]


@pytest.mark.parametrize(
    "kind", ["http500", "timeout_before", "timeout_after", "timeout_after_no_callbacks"]
)
async def test_uncertain_sends_are_reconciled_before_any_resend(h: Harness, kind: str) -> None:
    c = await customer(h)
    if kind == "http500":
        h.fake.fail_next(Failure(status=500, code=20500, message="Internal Server Error"))
    else:
        h.fake.fail_next(Failure(kind=kind.removesuffix("_no_callbacks")))
    h.fake.callbacks = kind != "timeout_after_no_callbacks"
    m = await h.queue(c.id)
    d = h.dispatcher()
    await d.drain_once()
    await h.fake.settle()
    status = (await h.message(m.id)).status
    if kind == "timeout_after":  # the callback (marked ?m=id) already told us the sid
        assert status == "read"
    else:
        assert status == "sending"  # unknown fate: not resent blindly
    await asyncio.sleep(1.6)  # the fake's hang ends
    h.clock.advance(seconds=2)  # past the lease
    await d.drain_once()
    await h.fake.settle()
    done = await h.message(m.id)
    assert done.status in ("sent", "delivered", "read") and done.provider_sid
    assert list(h.fake.counts.values()) == [1]


# --- crashes: exactly once ---------------------------------------------------------------------


class DiesAfterCreate:
    """A transport whose process dies right after Twilio accepted the message."""

    name = "dies"

    def __init__(self, real: TwilioTransport) -> None:
        self.real = real

    async def start(self) -> None:
        await self.real.start()

    async def close(self) -> None:
        await self.real.close()

    async def send(self, out: Outgoing) -> Sent:
        await self.real.send(out)
        raise asyncio.CancelledError  # the process is gone before the sid is written

    async def recent_to(self, to: str, since: datetime) -> object:
        return await self.real.recent_to(to, since)


async def test_crash_between_claim_and_send_is_requeued_and_sent_once(h: Harness) -> None:
    c = await customer(h)
    m = await h.queue(c.id)
    async with unit_of_work(h.sessions) as session:  # a dispatcher claimed it, then died
        claimed = await claim_due(session, h.clock(), h.cfg, 10)
    assert [x.id for x in claimed.claimed] == [m.id]
    assert (await h.message(m.id)).status == "sending"
    d = await h.drain()
    assert d.report.reconciled["requeued"] == 1
    assert (await h.message(m.id)).status == "read"
    assert list(h.fake.counts.values()) == [1]


@pytest.mark.parametrize("window", ["template", "free_text"])
async def test_crash_between_send_and_record_is_found_not_resent(h: Harness, window: str) -> None:
    h.fake.callbacks = False  # no callback to tell us: reconciliation must ask Twilio
    inbound = None if window == "template" else h.clock() - timedelta(hours=1)
    c = await customer(h, last_inbound_at=inbound)
    m = await h.queue(c.id)
    real = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_base_url=h.fake.base_url)
    await h.dispatcher(transport=DiesAfterCreate(real)).drain_once()
    assert h.fake.created == 1 and (await h.message(m.id)).status == "sending"
    d = await h.drain()  # the restarted process
    assert d.report.reconciled["found"] == 1
    done = await h.message(m.id)
    assert done.status == "sent" and done.provider_sid in h.fake.messages
    assert list(h.fake.counts.values()) == [1]


# --- quiet hours, budget, pause ----------------------------------------------------------------


async def test_quiet_hours_hold_marketing_until_morning_but_replies_go(
    engine: AsyncEngine, fake: FakeTwilio
) -> None:
    clock = MovingClock(time(22, 30))
    fake.clock = clock
    h = await start_harness(make_session_factory(engine), fake, clock)
    try:
        c = await customer(h)
        m = await h.queue(c.id)
        await h.drain()
        held = await h.message(m.id)
        assert held.status == "queued" and fake.created == 0
        assert held.not_before is not None
        assert held.not_before.astimezone(clock().tzinfo) > clock()
        assert held.not_before == datetime.combine(
            clock.today + timedelta(days=1), time(9, 0), tzinfo=SHOP_TZ
        ).astimezone(UTC)
        assert (await h.inbound(c.phone, "help"))[0] == 200  # a reply at night goes at once
        await h.drain()
        assert fake.created == 1 and creates(fake)[0]["Body"].startswith("আবার অর্ডার দিতে")
        clock.advance(hours=10, minutes=31)  # 09:01 the next day
        await h.drain()
        assert (await h.message(m.id)).status == "read"
    finally:
        await stop_harness(h)


async def test_contact_budget_is_respected_at_send_time(h: Harness) -> None:
    c = await customer(h)
    today = h.clock.today
    async with unit_of_work(h.sessions) as session:  # two marketing rows due today (one was late)
        first = await make_message(
            session,
            c.id,
            queued_on=today - timedelta(days=1),
            send_on=today - timedelta(days=1),
            variables={"product": "চাল", "quantity": "১"},
        )
        second = await make_message(
            session, c.id, queued_on=today, variables={"product": "ডাল", "quantity": "২"}
        )
    await h.drain()
    assert h.fake.created == 1
    assert (await h.message(first.id)).status == "read"
    waiting = await h.message(second.id)
    assert (waiting.status, waiting.send_on) == ("queued", today + timedelta(days=1))


async def test_marketing_paused_until_is_respected(h: Harness) -> None:
    until = h.clock() + timedelta(days=2)
    c = await customer(
        h, marketing_paused_until=until, last_inbound_at=h.clock() - timedelta(hours=2)
    )
    m = await h.queue(c.id)
    service = await h.queue(c.id, "support_ack", {}, purpose="service")
    await h.drain()
    assert (await h.message(m.id)).not_before == until
    assert (await h.message(service.id)).status == "read"


# --- several dispatchers on PostgreSQL -----------------------------------------------------------


async def test_two_dispatchers_on_postgres_never_send_a_message_twice(
    h: Harness, backend: str, database_url: str
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite runs a single dispatcher")
    async with unit_of_work(h.sessions) as session:
        customers = [await make_customer(session) for _ in range(150)]
    for c in customers:
        for template in ("reminder", "winback"):
            await h.queue(c.id, template, purpose="service")
    other_engine = make_engine(database_url)
    try:
        other = make_session_factory(other_engine)
        # as `build_dispatcher` does on PostgreSQL: a starting dispatcher reconciles only rows
        # claimed before the grace, never another live dispatcher's sends in flight
        a = h.dispatcher(batch_size=20, startup_grace=POSTGRES_STARTUP_GRACE)
        b = h.dispatcher(batch_size=20, startup_grace=POSTGRES_STARTUP_GRACE)
        b.sessions = other
        b.recorder.sessions = b.reconciler.sessions = other
        await asyncio.gather(a.drain_once(), b.drain_once(), a.drain_once(), b.drain_once())
        concurrent = (a.report.sent, b.report.sent)
        # A later drain, past the start-up grace, settles anything the racing drains left claimed
        # (reconciled on Twilio first): the two together still send each message exactly once.
        h.clock.advance(minutes=10)
        await a.drain_once()
    finally:
        await other_engine.dispose()
    await h.fake.settle()
    assert h.fake.created == 300 and h.fake.duplicates() == {}
    # both really sent in parallel (under load a batch may time out at 0.5 s and wait for the
    # later drain: a timeout is reconciled on Twilio, never blindly resent)
    assert concurrent[0] > 0 and concurrent[1] > 0
    async with h.sessions() as session:
        left = await session.scalar(
            select(func.count()).where(Message.status.in_(("queued", "sending")))
        )
        assert left == 0
