"""The inbox (inbound stored before the 200, processed in the background), the group-commit
writer, ERP retries across restarts, the dispatcher woken by replies, and the console transport.
Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import messaging.inbox as inbox_module
from bot.app import build_runtime, serve
from bot.settings import Settings
from core.db import make_session_factory, unit_of_work
from core.group_commit import GroupCommitWriter
from core.inbox import Received, store_received
from core.models import Customer, Engagement, InboundMessage, Message, ReorderRequest, Task
from core.shopconfig.loader import store_applied_config
from handlers.whatsapp import TWILIO_WEBHOOKS
from messaging.applied import AppliedConfig
from messaging.console import ConsoleTransport
from messaging.erp import ErpPoster
from messaging.inbox import Inbox
from tests.e2e.telegram_harness import free_port
from tests.e2e.whatsapp_harness import (
    Harness,
    MovingClock,
    harness_config,
    start_harness,
    stop_harness,
)
from tests.factories import make_customer
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, sign


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock()


@pytest.fixture
async def fake(clock: MovingClock) -> AsyncIterator[FakeTwilio]:
    server = FakeTwilio(clock=clock)
    await server.start()
    yield server
    await server.stop()
    assert server.violations == [], server.violations


@pytest.fixture
async def h(engine: AsyncEngine, fake: FakeTwilio, clock: MovingClock) -> AsyncIterator[Harness]:
    harness = await start_harness(make_session_factory(engine), fake, clock)
    yield harness
    await stop_harness(harness)


async def customer(h: Harness, **kw: Any) -> Customer:
    async with unit_of_work(h.sessions) as session:
        return await make_customer(session, **kw)


async def count(h: Harness, model: type, *where: Any) -> int:
    async with h.sessions() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int(await session.scalar(stmt) or 0)


def restarted_inbox(h: Harness, erp: ErpPoster | None = None) -> Inbox:
    """The inbox of a freshly started process on the same database."""
    return Inbox(h.sessions, AppliedConfig(h.sessions), clock=h.clock, erp=erp)


async def eventually(check: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


# --- the inbox -------------------------------------------------------------------------------


async def test_acknowledged_inbound_survives_a_crash_before_processing(h: Harness) -> None:
    c = await customer(h)
    await h.hooks.inbox.stop()  # the worker is gone: the process "crashes" after the 200
    status, sid = await h.inbound(c.phone, "হ্যাঁ ৫ কেজি", process=False)
    assert status == 200
    async with h.sessions() as session:
        stored = await session.scalar(select(InboundMessage))
        assert stored is not None and (stored.provider_sid, stored.processed_at) == (sid, None)
        assert stored.params["ProfileName"] == "Rahima" and stored.body == "হ্যাঁ ৫ কেজি"
    assert await count(h, Engagement) == 0
    fresh = restarted_inbox(h)
    fresh.start()  # start-up catches up on what the dead process acknowledged
    try:

        async def processed() -> bool:
            return await count(h, InboundMessage, InboundMessage.processed_at.is_not(None)) == 1

        await eventually(processed)
    finally:
        await fresh.stop()
    assert await count(h, Engagement, Engagement.external_ref == sid) == 1
    assert await count(h, ReorderRequest) == 1
    assert await count(h, Message, Message.template_key == "reorder_confirm") == 1


async def test_a_duplicate_message_sid_is_stored_and_processed_once(h: Harness) -> None:
    c = await customer(h)
    params = {"From": f"whatsapp:{c.phone}", "Body": "হ্যাঁ", "MessageSid": "SM" + "d" * 32}
    statuses = await asyncio.gather(*(h.post("/twilio/inbound", params) for _ in range(3)))
    assert statuses == [200, 200, 200]
    other = restarted_inbox(h)  # a second worker racing the first one
    await asyncio.gather(h.processed(), other.process_pending(), h.processed())
    assert await count(h, InboundMessage) == 1
    assert await count(h, Engagement) == 1 and await count(h, ReorderRequest) == 1
    assert await count(h, Message, Message.template_key == "reorder_confirm") == 1


async def test_one_customers_messages_are_processed_in_order(h: Harness) -> None:
    a, b = await customer(h), await customer(h)
    await h.hooks.inbox.stop()
    for phone, body in [(a.phone, "বন্ধ"), (b.phone, "help"), (a.phone, "START"), (a.phone, "ok")]:
        assert (await h.inbound(phone, body, process=False))[0] == 200
    await restarted_inbox(h).process_pending()
    async with h.sessions() as session:
        said = (
            await session.scalars(
                select(Engagement.body)
                .where(Engagement.customer_id == a.id)
                .order_by(Engagement.id)
            )
        ).all()
        assert said == ["বন্ধ", "START", "ok"]
        fresh = await session.get(Customer, a.id)
        assert fresh is not None and fresh.opted_out_at is None  # STOP, then START: opted in


async def test_a_failing_message_holds_back_only_its_customers_later_messages(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = await customer(h), await customer(h)
    await h.hooks.inbox.stop()
    _, first = await h.inbound(a.phone, "বন্ধ", process=False)
    await h.inbound(a.phone, "START", process=False)
    await h.inbound(b.phone, "help", process=False)
    real = inbox_module.process_inbound
    failures = {"left": 1}

    async def fails_once(session: AsyncSession, inbound_id: int, *args: Any, **kw: Any) -> Any:
        row = await session.get(InboundMessage, inbound_id)
        if row is not None and row.provider_sid == first and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database blip")
        return await real(session, inbound_id, *args, **kw)

    monkeypatch.setattr(inbox_module, "process_inbound", fails_once)
    inbox = restarted_inbox(h)
    assert await inbox.process_pending() == 1  # b's message; a's second waits for a's first
    assert await count(h, Engagement, Engagement.customer_id == a.id) == 0
    async with h.sessions() as session:
        row = await session.scalar(
            select(InboundMessage).where(InboundMessage.provider_sid == first)
        )
        assert row is not None and row.attempts == 1 and "database blip" in (row.error or "")
    assert await inbox.process_pending() == 2
    async with h.sessions() as session:
        fresh = await session.get(Customer, a.id)
        assert fresh is not None and fresh.opted_out_at is None  # still STOP then START


async def test_a_message_that_keeps_failing_is_set_aside_with_its_error(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = await customer(h)
    await h.hooks.inbox.stop()
    await h.inbound(c.phone, "help", process=False)

    async def always_fails(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("poison")

    monkeypatch.setattr(inbox_module, "process_inbound", always_fails)
    inbox = restarted_inbox(h)
    inbox.max_attempts = 2
    await inbox.process_pending()
    await inbox.process_pending()
    async with h.sessions() as session:
        row = await session.scalar(select(InboundMessage))
        assert row is not None and row.attempts == 2 and row.processed_at is not None
        assert row.error == "RuntimeError: poison"


async def test_a_sender_outside_bangladesh_is_stored_and_noted(h: Harness) -> None:
    assert (await h.inbound("+14155550100", "hello"))[0] == 200
    async with h.sessions() as session:
        row = await session.scalar(select(InboundMessage))
        assert row is not None and row.processed_at is not None and row.error
    assert await count(h, Engagement) == 0


# --- the group-commit writer -----------------------------------------------------------------


def received(sid: str, at: Any) -> Received:
    return Received(provider_sid=sid, sender="whatsapp:+8801711000000", body="x", received_at=at)


async def test_group_commit_writes_many_requests_in_one_transaction(
    engine: AsyncEngine, clock: MovingClock
) -> None:
    sessions = make_session_factory(engine)

    async def store(session: AsyncSession, items: Sequence[Received]) -> list[int]:
        await store_received(session, items)
        return [len(items)] * len(items)

    writer: GroupCommitWriter[Received, int] = GroupCommitWriter(sessions, store, linger=0.01)
    try:
        sizes = await asyncio.gather(
            *(writer.submit(received(f"SM{i}", clock())) for i in range(40))
        )
    finally:
        await writer.stop()
    assert writer.batches < 40 and max(sizes) > 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 40


async def test_a_failure_in_the_batch_does_not_acknowledge(
    engine: AsyncEngine, clock: MovingClock
) -> None:
    sessions = make_session_factory(engine)

    async def store(session: AsyncSession, items: Sequence[Received]) -> list[None]:
        await store_received(session, items)
        if any(r.body == "poison" for r in items):
            raise RuntimeError("cannot store")
        return [None] * len(items)

    writer: GroupCommitWriter[Received, None] = GroupCommitWriter(sessions, store, linger=0.01)
    items = [received(f"SM{i}", clock()) for i in range(5)]
    items[2] = Received("SMpoison", "whatsapp:+8801711000000", "poison", clock())
    try:
        results = await asyncio.gather(*(writer.submit(r) for r in items), return_exceptions=True)
    finally:
        await writer.stop()
    assert isinstance(results[2], RuntimeError)
    assert [r for i, r in enumerate(results) if i != 2] == [None] * 4
    async with sessions() as session:
        stored = set((await session.scalars(select(InboundMessage.provider_sid))).all())
    assert stored == {"SM0", "SM1", "SM3", "SM4"}  # acknowledged = committed, and only those


async def test_the_webhook_answers_500_when_the_inbound_cannot_be_stored(h: Harness) -> None:
    c = await customer(h)
    real = h.hooks.inbox.writer.apply

    async def broken(session: AsyncSession, items: Sequence[Received]) -> list[None]:
        raise OSError("disk full")

    h.hooks.inbox.writer.apply = broken
    params = {"From": f"whatsapp:{c.phone}", "Body": "help", "MessageSid": "SM" + "e" * 32}
    assert await h.post("/twilio/inbound", params) == 500  # Twilio will retry
    assert await count(h, InboundMessage) == 0
    h.hooks.inbox.writer.apply = real
    assert await h.post("/twilio/inbound", params) == 200  # the retry
    await h.processed()
    assert await count(h, Engagement) == 1


# --- ERP posts survive a restart ---------------------------------------------------------------


async def erp_server(answers: list[int]) -> tuple[web.AppRunner, str, list[dict[str, Any]]]:
    """A fake ERP answering each POST with the next status of `answers` (then 201)."""
    got: list[dict[str, Any]] = []

    async def orders(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=answers.pop(0) if answers else 201)

    async def hangs(request: web.Request) -> web.Response:
        await asyncio.sleep(30)  # the poster's process dies while waiting
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/orders", orders)
    app.router.add_post("/hangs", hangs)
    runner = web.AppRunner(app, handler_cancellation=True)  # a client gone: the handler ends
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/orders", got


async def test_erp_reorders_failed_or_pending_at_a_crash_are_posted_after_restart(
    h: Harness,
) -> None:
    runner, url, got = await erp_server([503, 503])
    try:
        c1, c2 = await customer(h), await customer(h)
        await h.hooks.inbox.stop()  # no background worker: the test drives the inbox
        first = ErpPoster(h.sessions, url, attempts_per_round=2, base_delay=0.01)
        h.hooks.inbox.erp = first
        await h.inbound(c1.phone, "হ্যাঁ")  # the ERP is down: both attempts fail
        await first.close()
        never = ErpPoster(h.sessions, url.replace("/orders", "/hangs"))
        h.hooks.inbox.erp = never
        await h.inbound(c2.phone, "হ্যাঁ", process=False)
        await h.hooks.inbox.process_pending()
        await never.close(grace_seconds=0)  # the process dies before posting the second one
        async with h.sessions() as session:
            rows = (await session.scalars(select(ReorderRequest).order_by(ReorderRequest.id))).all()
            assert [(r.erp_status, r.erp_attempts) for r in rows] == [("failed", 2), ("pending", 0)]
        assert len(got) == 2
        fresh = restarted_inbox(h, ErpPoster(h.sessions, url, base_delay=0.01))
        fresh.start()  # start-up posts what is pending or failed below the attempt limit
        try:

            async def all_sent() -> bool:
                return await count(h, ReorderRequest, ReorderRequest.erp_status == "sent") == 2

            await eventually(all_sent)
        finally:
            await fresh.stop()
        async with h.sessions() as session:
            rows = (await session.scalars(select(ReorderRequest).order_by(ReorderRequest.id))).all()
            assert [(r.erp_status, r.erp_attempts) for r in rows] == [("sent", 3), ("sent", 1)]
        assert {p["reorder_request_id"] for p in got} == {rows[0].id, rows[1].id}
        assert got[-1]["customer"]["phone"] in (c1.phone, c2.phone) and got[-1]["message"] == "হ্যাঁ"
    finally:
        await runner.cleanup()


async def test_erp_refusals_and_exhausted_reorders_are_not_retried(h: Harness) -> None:
    runner, url, got = await erp_server([422])
    try:
        c1, c2 = await customer(h), await customer(h)
        h.hooks.inbox.erp = ErpPoster(h.sessions, url, base_delay=0.01)
        await h.inbound(c1.phone, "হ্যাঁ")
        await h.inbound(c2.phone, "হ্যাঁ")
        async with unit_of_work(h.sessions) as session:
            rows = (await session.scalars(select(ReorderRequest).order_by(ReorderRequest.id))).all()
            assert [r.erp_status for r in rows] == ["rejected", "sent"]
            rows[1].erp_status, rows[1].erp_attempts = "failed", 20  # at the limit
        poster = ErpPoster(h.sessions, url, max_attempts=20)
        assert await poster.retry_due() == 0
        await poster.close()
        assert len(got) == 2
    finally:
        await runner.cleanup()


# --- the running dispatcher is woken by a reply ----------------------------------------------


async def test_a_reply_goes_at_once_when_the_dispatcher_is_connected(h: Harness) -> None:
    c = await customer(h)
    d = h.dispatcher(idle_seconds=60)  # without a wake-up it would not look for a minute
    await d.start()
    await asyncio.sleep(0.2)  # it has looked once and is idle now
    h.hooks.connect_dispatcher(d.wake)
    h.hooks.inbox.start()
    assert (await h.inbound(c.phone, "help", process=False))[0] == 200

    async def replied() -> bool:
        return h.fake.created == 1

    await eventually(replied, seconds=5)
    assert next(iter(h.fake.messages.values()))["body"].startswith("আবার অর্ডার দিতে")


# --- the console transport (development) -------------------------------------------------------


async def test_console_prints_a_template_without_content_sid_instead_of_failing(
    h: Harness,
) -> None:
    c = await customer(h, last_inbound_at=None, language="en")
    birthday = await h.queue(c.id, "birthday", {"name": "Rina", "discount": 10, "coupon": "BD-1"})
    reminder = await h.queue(c.id, "reminder", purpose="service")
    out = io.StringIO()
    d = await h.drain(transport=ConsoleTransport(stream=out))
    assert d.report.sent == 2 and d.report.failed == 0
    printed = out.getvalue()
    assert f"── WhatsApp to {c.phone} · message {birthday.id}\n" in printed
    assert "   template birthday (no Content SID registered)\n" in printed
    assert "Rina" in printed and "BD-1" in printed
    tpl = h.cfg.templates.get("reminder")
    assert f"   template reminder ({tpl.content_sid}) variables " in printed
    for mid in (birthday.id, reminder.id):
        assert (await h.message(mid)).status == "sent"
    assert await count(h, Task, Task.dedupe_key == f"undelivered:{birthday.id}") == 0
    assert h.fake.created == 0


async def test_console_shows_free_text_inside_the_window(h: Harness) -> None:
    c = await customer(h, last_inbound_at=h.clock() - timedelta(hours=1))
    await h.queue(c.id, "winback", {"coupon": "WB-7"}, purpose="service")
    out = io.StringIO()
    await h.drain(transport=ConsoleTransport(stream=out))
    block = out.getvalue()
    assert block.startswith(f"── WhatsApp to {c.phone} · message ") and "\n   free text\n" in block
    assert "WB-7" in block


# --- `trustcart run`: the process runs the inbox worker and wires the dispatcher's wake-up -----


async def test_the_running_process_processes_inbound_and_replies(
    engine: AsyncEngine, database_url: str, fake: FakeTwilio
) -> None:
    sessions = make_session_factory(engine)
    async with unit_of_work(sessions) as session:
        await store_applied_config(session, harness_config())
    telegram = FakeTelegram()
    await telegram.start()
    port = free_port()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        telegram_bot_token=SecretStr(telegram.token),
        telegram_api_base_url=telegram.url,
        web_host="127.0.0.1",
        web_port=port,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=SecretStr(AUTH_TOKEN),
        twilio_whatsapp_from="whatsapp:+14155238886",
        twilio_api_base_url=fake.base_url,
        public_base_url=f"http://127.0.0.1:{port}",
    )
    application, runtime = build_runtime(settings, sessions, schedule=False)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(application, stop))
    try:
        for _ in range(400):
            assert not task.done(), "the process stopped during start-up"
            if application.running:
                break
            await asyncio.sleep(0.025)
        hooks = runtime.web_app[TWILIO_WEBHOOKS]
        assert hooks.inbox.wake == runtime.dispatcher.wake
        params = {"From": "whatsapp:+8801911000222", "Body": "help", "MessageSid": "SM" + "f" * 32}
        url = f"http://127.0.0.1:{port}/twilio/inbound"
        headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, url, params)}
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=params, headers=headers) as r,
        ):
            assert r.status == 200

        async def replied() -> bool:
            return fake.created == 1

        await eventually(replied)
        await fake.settle()  # its status callbacks reach the running process
        [form] = [form for method, _, form in fake.requests if method == "POST"]
        assert form["To"] == "whatsapp:+8801911000222" and "Body" in form
        async with sessions() as session:  # the callbacks went through the status writer
            reply = await session.scalar(select(Message))
            assert reply is not None and reply.status == "read"
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await telegram.stop()
