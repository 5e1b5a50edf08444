"""End to end: the real python-telegram-bot Application against the fake Bot API, on both databases,
in polling and in webhook mode. Every Bot API call is checked against the spec (fixture teardown)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import CallbackContext

from core.db import make_session_factory
from core.models import Agent, Customer, Engagement, Task
from core.tasks import task_priority
from handlers.telegram.pushes import push_daily_summary, push_morning_queue
from tests.e2e.telegram_harness import START, RunningBot, running_bot
from tests.factories import make_agent, make_customer, make_task
from tests.fakes.telegram_api import FakeTelegram

DAY = START.date()


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == [], fake.violations


@pytest.fixture(params=["polling", "webhook"])
async def bot(
    request: pytest.FixtureRequest,
    fake_telegram: FakeTelegram,
    database_url: str,
    engine: AsyncEngine,
) -> AsyncIterator[RunningBot]:
    async with running_bot(
        fake_telegram, database_url, make_session_factory(engine), request.param
    ) as running:
        yield running


@pytest.fixture
async def polling_bot(
    fake_telegram: FakeTelegram, database_url: str, engine: AsyncEngine
) -> AsyncIterator[RunningBot]:
    async with running_bot(
        fake_telegram, database_url, make_session_factory(engine), "polling"
    ) as r:
        yield r


async def _db(engine: AsyncEngine):  # noqa: ANN202 - a session for assertions
    return make_session_factory(engine)()


async def _seed_agents(engine: AsyncEngine) -> dict[str, int]:
    async with make_session_factory(engine)() as s, s.begin():
        boss = await make_agent(
            s, name="Boss", role="manager", telegram_user_id=9001, telegram_chat_id=9001
        )
        other = await make_agent(s, name="Karim", telegram_user_id=7002, telegram_chat_id=7002)
        return {"boss": boss.id, "other": other.id}


async def _seed_tasks(engine: AsyncEngine, agent_id: int, n: int) -> list[int]:
    """n tasks for the agent, strictly decreasing priority, each for its own customer."""
    ids = []
    async with make_session_factory(engine)() as s, s.begin():
        for i in range(n):
            level = ("hot", "warm", "cold")[i % 3]
            c = await make_customer(s, name=f"গ্রাহক {i + 1}", assigned_agent_id=agent_id)
            t = await make_task(
                s,
                customer_id=c.id,
                agent_id=agent_id,
                due_date=DAY,
                priority_level=level,
                priority=task_priority("hot", 0) + 1000 - i,
                suggestion={
                    "products": [
                        {
                            "sku": "RICE",
                            "name": "Miniket rice 5 kg",
                            "name_bn": "মিনিকেট চাল ৫ কেজি",
                            "quantity": "5 kg",
                            "quantity_bn": "৫ কেজি",
                        }
                    ],
                    "offer_code": f"RICE{i}",
                    "confidence": "high",
                },
            )
            ids.append(t.id)
    return ids


async def _task(engine: AsyncEngine, task_id: int) -> Task:
    async with make_session_factory(engine)() as s:
        task = await s.get(Task, task_id)
        assert task is not None
        return task


async def _engagements(engine: AsyncEngine, task_id: int) -> list[tuple[str, str | None]]:
    async with make_session_factory(engine)() as s:
        rows = await s.execute(
            select(Engagement.outcome, Engagement.body)
            .where(Engagement.task_id == task_id)
            .order_by(Engagement.id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


def _buttons(call) -> list[str]:  # noqa: ANN001
    markup = call.params.get("reply_markup")
    if not markup:
        return []
    rows = json.loads(markup)["inline_keyboard"]
    return [b["callback_data"] for row in rows for b in row]


async def test_invite_join_refuse_and_work_ten_tasks(bot: RunningBot, engine: AsyncEngine) -> None:
    fake = bot.fake
    ids = await _seed_agents(engine)
    boss, rina, stranger = fake.user(9001, "Boss"), fake.user(7001, "Rina"), fake.user(6666, "X")

    # a manager invites, the new agent joins with the code
    (reply,) = await bot.say(boss, "/invite Rina agent Dhaka capacity=30")
    code = re.search(r"start=([A-Za-z0-9_-]+)", reply.params["text"]).group(1)
    assert "t.me/trustcart_test_bot" in reply.params["text"]
    (welcome,) = await bot.say(rina, f"/start {code}")
    assert "স্বাগতম Rina" in welcome.params["text"]
    async with make_session_factory(engine)() as s:
        agent = await s.scalar(select(Agent).where(Agent.telegram_user_id == 7001))
        assert agent is not None and agent.active and agent.daily_capacity == 30
        agent_id = agent.id

    # a stranger hears one polite refusal, then nothing at all
    mark = fake.mark()
    (refusal,) = await bot.say(stranger, "/today")
    assert "শুধু TrustCart টিমের জন্য" in refusal.params["text"] and "Sorry" in refusal.params["text"]
    await fake.send_text(stranger, f"/start {code}")  # a used code does not help
    await fake.send_text(stranger, "hello?")
    await fake.send_text(stranger, "/summary")
    await fake.settle()
    assert len(fake.find("sendMessage", chat_id=6666, after=mark)) == 1

    # /today with ten tasks
    tasks = await _seed_tasks(engine, agent_id, 10)
    (today,) = await bot.say(rina, "/today")
    assert "১০" in today.params["text"] and _buttons(today) == ["q"]
    msg_id = today.result["message_id"]

    async def tap(data: str) -> str:
        edit = await bot.tap(rina, msg_id, data)
        assert edit.params["message_id"] == str(msg_id)
        return edit.params["text"]

    card = await tap("q")
    assert f"#{tasks[0]}" in card and "গ্রাহক 1" in card and "+88017" in card
    assert "মিনিকেট চাল" in card and "RICE0" in card and "বেশি" in card  # product, code, confidence
    assert "আসসালামু আলাইকুম" in card  # the call script

    card = await tap(f"t:{tasks[0]}:o")  # ordered → closed, next card in the same message
    t0 = await _task(engine, tasks[0])
    assert (t0.status, t0.outcome) == ("done", "ordered") and f"#{tasks[1]}" in card

    card = await tap(f"t:{tasks[1]}:n")  # no answer → retried in 3 h
    t1 = await _task(engine, tasks[1])
    assert t1.status == "open" and t1.attempts == 1 and t1.due_at == START + timedelta(hours=3)
    assert f"#{tasks[2]}" in card

    menu = await bot.tap(rina, msg_id, f"t:{tasks[2]}:L")
    assert f"t:{tasks[2]}:l:2h" in _buttons(menu)
    card = await tap(f"t:{tasks[2]}:l:2h")
    assert (await _task(engine, tasks[2])).due_at == START + timedelta(hours=2)

    menu = await bot.tap(rina, msg_id, f"t:{tasks[3]}:X")
    assert f"t:{tasks[3]}:x:price" in _buttons(menu)
    card = await tap(f"t:{tasks[3]}:x:price")
    t3 = await _task(engine, tasks[3])
    assert (t3.status, t3.outcome, t3.outcome_note) == ("done", "not_interested", "price")

    card = await tap(f"t:{tasks[4]}:w")
    t4 = await _task(engine, tasks[4])
    async with make_session_factory(engine)() as s:
        assert (await s.get(Customer, t4.customer_id)).phone_valid is False

    answer = await bot.tap(rina, msg_id, f"t:{tasks[5]}:m", edits=False)  # note: next text is it
    assert "নোট" in answer.params["text"]
    mark = fake.mark()
    await fake.send_text(rina, "বিকেলে আবার ফোন করতে বলেছেন")
    await fake.wait_for("sendMessage", chat_id=7001, after=mark)
    await fake.settle()
    assert ("note", "বিকেলে আবার ফোন করতে বলেছেন") in await _engagements(engine, tasks[5])
    assert (await _task(engine, tasks[5])).status == "open"
    card = await tap(f"t:{tasks[5]}:o")
    assert f"#{tasks[6]}" in card

    card = await tap(f"t:{tasks[6]}:s")  # next without an outcome
    assert f"#{tasks[7]}" in card and (await _task(engine, tasks[6])).status == "open"
    card = await tap(f"t:{tasks[7]}:l:tomorrow")
    assert (await _task(engine, tasks[7])).due_date == DAY + timedelta(days=1)
    assert f"#{tasks[6]}" in card  # back to the skipped one, highest left
    card = await tap(f"t:{tasks[6]}:x:has_stock")
    card = await tap(f"t:{tasks[8]}:l:3d")
    assert (await _task(engine, tasks[8])).due_date == DAY + timedelta(days=3)
    card = await tap(f"t:{tasks[9]}:o")
    assert "কোনো কাজ নেই" in card  # the rest wait for later

    async with make_session_factory(engine)() as s:
        outcomes = dict(
            (
                await s.execute(
                    select(Engagement.outcome, func.count())
                    .where(Engagement.agent_id == agent_id)
                    .group_by(Engagement.outcome)
                )
            ).all()
        )
    assert outcomes == {
        "ordered": 3,
        "no_answer": 1,
        "call_later": 3,
        "not_interested": 2,
        "wrong_number": 1,
        "note": 1,
    }
    (tally,) = await bot.say(rina, "/done")
    assert "অর্ডার ✅: ৩" in tally.params["text"]

    # two hours later the "call later" task is back
    bot.clock.advance(hours=2, minutes=1)
    (today,) = await bot.say(rina, "/today")
    card = await bot.tap(rina, today.result["message_id"], "q")
    assert f"#{tasks[2]}" in card.params["text"]
    assert ids["other"]  # the other agent saw nothing of this
    assert fake.find("sendMessage", chat_id=7002) == []


async def test_forged_and_stale_buttons(bot: RunningBot, engine: AsyncEngine) -> None:
    fake = bot.fake
    async with make_session_factory(engine)() as s, s.begin():
        a = await make_agent(s, name="Asha", telegram_user_id=7101, telegram_chat_id=7101)
        b = await make_agent(s, name="Bilal", telegram_user_id=7102, telegram_chat_id=7102)
        await make_agent(
            s, name="Boss", role="manager", telegram_user_id=9101, telegram_chat_id=9101
        )
        c = await make_customer(s)
        mine = await make_task(s, customer_id=c.id, agent_id=a.id, due_date=DAY)
        theirs = await make_task(s, customer_id=c.id, agent_id=b.id, due_date=DAY)
        mine_id, theirs_id, b_id = mine.id, theirs.id, b.id
    asha, boss = fake.user(7101, "Asha"), fake.user(9101, "Boss")
    (today,) = await bot.say(asha, "/today")
    msg = today.result["message_id"]
    card = await bot.tap(asha, msg, "q")
    assert f"#{mine_id}" in card.params["text"]

    # forged: Asha's client sends data naming Bilal's task
    answer = await bot.tap(asha, msg, f"t:{theirs_id}:o", edits=False)
    assert answer.params.get("show_alert") == "true" and "অনুমতি" in answer.params["text"]
    assert (await _task(engine, theirs_id)).status == "open"
    assert await _engagements(engine, theirs_id) == []
    answer = await bot.tap(asha, msg, "t:abc:o:" + "x" * 10, edits=False)  # garbage
    assert answer.params.get("show_alert") == "true"

    # stale: the manager moves Asha's task to Bilal; her old button no longer works
    (done,) = await bot.say(boss, f"/reassign {mine_id} Bilal")
    assert "Bilal" in done.params["text"]
    answer = await bot.tap(asha, msg, f"t:{mine_id}:o", edits=False)
    assert answer.params.get("show_alert") == "true"
    task = await _task(engine, mine_id)
    assert (task.status, task.agent_id) == ("open", b_id)
    assert await _engagements(engine, mine_id) == []

    # an agent may not use manager commands, nor see another agent's customer
    (refused,) = await bot.say(asha, "/summary")
    assert "অনুমতি" in refused.params["text"]
    async with make_session_factory(engine)() as s, s.begin():
        other_customer = await make_customer(s, assigned_agent_id=b_id)
        phone = other_customer.phone
    (refused,) = await bot.say(asha, f"/customer {phone}")
    assert "অনুমতি" in refused.params["text"]


async def test_manager_summary_arrives_as_photo(bot: RunningBot, engine: AsyncEngine) -> None:
    fake = bot.fake
    await _seed_agents(engine)
    boss = fake.user(9001, "Boss")
    mark = fake.mark()
    await fake.send_text(boss, f"/summary {DAY.isoformat()}")
    (text,) = await fake.wait_for("sendMessage", chat_id=9001, after=mark)
    (photo,) = await fake.wait_for("sendPhoto", chat_id=9001, after=mark)
    assert "দিনের সারাংশ" in text.params["text"]
    assert photo.params["photo"].content.startswith(b"\x89PNG")
    (team,) = await bot.say(boss, "/team")
    assert "টিম" in team.params["text"]
    (campaigns,) = await bot.say(boss, "/campaigns")
    assert "ক্যাম্পেইন" in campaigns.params["text"]
    (overflow,) = await bot.say(boss, "/overflow")
    assert "ওভারফ্লো" in overflow.params["text"]


async def test_webhook_refuses_a_wrong_secret(
    fake_telegram: FakeTelegram, database_url: str, engine: AsyncEngine
) -> None:
    sessions = make_session_factory(engine)
    await _seed_agents(engine)
    async with running_bot(fake_telegram, database_url, sessions, "webhook") as bot:
        assert fake_telegram.webhook is not None and fake_telegram.webhook["secret_token"]
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 9001, "type": "private"},
                "from": {"id": 9001, "is_bot": False, "first_name": "Boss"},
                "text": "/today",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        url = f"{bot.web_url}/telegram/webhook"
        mark = fake_telegram.mark()
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as resp:
                    assert resp.status == 403
            await fake_telegram.settle(quiet=0.5)
            assert fake_telegram.find("sendMessage", after=mark) == []
            good = {"X-Telegram-Bot-Api-Secret-Token": fake_telegram.webhook["secret_token"]}
            async with http.post(url, json=update, headers=good) as resp:
                assert resp.status == 200
            await fake_telegram.wait_for("sendMessage", chat_id=9001, after=mark)
            async with http.get(f"{bot.web_url}/healthz") as resp:
                assert resp.status == 200


async def test_flood_control_not_modified_and_blocked_agent(
    polling_bot: RunningBot, engine: AsyncEngine
) -> None:
    bot, fake = polling_bot, polling_bot.fake
    async with make_session_factory(engine)() as s, s.begin():
        a = await make_agent(s, name="Asha", telegram_user_id=7201, telegram_chat_id=7201)
        gone = await make_agent(s, name="Gone", telegram_user_id=7202, telegram_chat_id=7202)
        await make_agent(
            s, name="Boss", role="manager", telegram_user_id=9201, telegram_chat_id=9201
        )
        c = await make_customer(s, assigned_agent_id=gone.id)
        t = await make_task(s, customer_id=c.id, agent_id=a.id, due_date=DAY)
        g = await make_task(s, customer_id=c.id, agent_id=gone.id, due_date=DAY)
        task_id, gone_task, gone_id = t.id, g.id, gone.id
    asha = fake.user(7201, "Asha")

    fake.rate_limit("sendMessage", retry_after=1)  # Telegram says: wait a second
    mark = fake.mark()
    (today,) = await bot.say(asha, "/today")
    assert [c.status for c in fake.calls[mark:] if c.method == "sendMessage"] == [429, 200]

    card = await bot.tap(asha, today.result["message_id"], "q")
    mark = fake.mark()
    await bot.tap(
        asha, int(card.params["message_id"]), f"t:{task_id}:b", edits=False
    )  # same card again
    await fake.settle()
    edits = [c for c in fake.calls[mark:] if c.method == "editMessageText"]
    assert [c.status for c in edits] == [400]  # "message is not modified", quietly ignored
    assert fake.find("sendMessage", chat_id=7201, after=mark) == []

    # an agent who blocked the bot is deactivated at the next push and their tasks released
    fake.block(7202)
    context = CallbackContext(bot.application)
    assert await push_morning_queue(context) == 1
    async with make_session_factory(engine)() as s:
        assert (await s.get(Agent, gone_id)).active is False
        assert (await s.get(Task, gone_task)).agent_id != gone_id  # released, then re-assigned
    assert await push_daily_summary(context, DAY) == 1
    await fake.wait_for("sendPhoto", chat_id=9201)


async def test_customer_lookup_own_and_manager(bot: RunningBot, engine: AsyncEngine) -> None:
    fake = bot.fake
    async with make_session_factory(engine)() as s, s.begin():
        asha = await make_agent(s, name="Asha", telegram_user_id=7301, telegram_chat_id=7301)
        other = await make_agent(s, name="Bilal", telegram_user_id=7302, telegram_chat_id=7302)
        await make_agent(
            s, name="Boss", role="manager", telegram_user_id=9301, telegram_chat_id=9301
        )
        mine = await make_customer(
            s, name="রহিমা বেগম", assigned_agent_id=asha.id, tier="gold", district="Dhaka"
        )
        theirs = await make_customer(s, name="করিম মিয়া", assigned_agent_id=other.id)
        mine_phone, theirs_phone = mine.phone, theirs.phone
    local = "0" + mine_phone.removeprefix("+880")  # 01XXXXXXXXX, as agents type it

    (card,) = await bot.say(fake.user(7301, "Asha"), f"/customer {local}")
    text = card.params["text"]
    assert f"👤 রহিমা বেগম · {mine_phone}" in text
    assert "গোল্ড" in text and "এখনো কোনো অর্ডার নেই" in text and "ওয়ালেট ৳০" in text
    (card,) = await bot.say(fake.user(9301, "Boss"), f"/customer {theirs_phone}")
    assert f"👤 করিম মিয়া · {theirs_phone}" in card.params["text"]  # a manager sees anyone
    (refused,) = await bot.say(fake.user(7301, "Asha"), f"/customer {theirs_phone}")
    assert "অনুমতি" in refused.params["text"] and "করিম" not in refused.params["text"]
    (unknown,) = await bot.say(fake.user(9301, "Boss"), "/customer 01999999999")
    assert "⚠️" in unknown.params["text"]


async def test_waiting_for_a_note_survives_a_restart(
    fake_telegram: FakeTelegram, database_url: str, engine: AsyncEngine
) -> None:
    sessions = make_session_factory(engine)
    async with sessions() as s, s.begin():
        asha = await make_agent(s, name="Asha", telegram_user_id=7401, telegram_chat_id=7401)
        agent_id = asha.id
    (task_id,) = await _seed_tasks(engine, agent_id, 1)
    user = fake_telegram.user(7401, "Asha")
    async with running_bot(fake_telegram, database_url, sessions, "polling") as bot:
        (today,) = await bot.say(user, "/today")
        msg = today.result["message_id"]
        await bot.tap(user, msg, "q")
        answer = await bot.tap(user, msg, f"t:{task_id}:m", edits=False)
        assert "নোট" in answer.params["text"]
    async with sessions() as s:  # the bot stopped; the database remembers
        waiting = await s.get(Agent, agent_id)
        assert (waiting.awaiting_note_task_id, waiting.awaiting_note_message_id) == (task_id, msg)

    async with running_bot(fake_telegram, database_url, sessions, "polling") as bot:
        mark = fake_telegram.mark()
        await fake_telegram.send_text(user, "সন্ধ্যায় ফোন করতে বলেছেন")
        (saved,) = await fake_telegram.wait_for("sendMessage", chat_id=7401, after=mark)
        assert "নোট রাখা হয়েছে" in saved.params["text"]
        await fake_telegram.settle()
        # the card message the note was asked on is refreshed (unchanged text: Telegram says so)
        (edit,) = [c for c in fake_telegram.calls[mark:] if c.method == "editMessageText"]
        assert edit.params["message_id"] == str(msg) and f"#{task_id}" in edit.params["text"]
        assert ("note", "সন্ধ্যায় ফোন করতে বলেছেন") in await _engagements(engine, task_id)
        mark = fake_telegram.mark()
        await fake_telegram.send_text(user, "just chatting")  # no longer waiting: no note
        await fake_telegram.settle()
        assert fake_telegram.find("sendMessage", chat_id=7401, after=mark) == []
    assert len(await _engagements(engine, task_id)) == 1
    async with sessions() as s:
        assert (await s.get(Agent, agent_id)).awaiting_note_task_id is None
