"""core.team on both databases: invites, access, the queue order and every call outcome."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.models import Agent, Customer, Engagement, Task
from core.models.customers import CustomerPrediction, PredictionModel
from core.shopconfig.schema import TeamConfig
from core.team import (
    OutcomeResult,
    create_invite,
    day_tally,
    deactivate_agent_and_reassign,
    list_tasks,
    load_card,
    next_task,
    reassign,
    record_outcome,
    redeem_invite,
    require_customer_access,
    today_overview,
)
from tests.factories import make_agent, make_customer, make_task

DAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 10:00 in Dhaka
TEAM = TeamConfig(no_answer_retry_limit=2, no_answer_retry_hours=3)


async def test_invite_is_single_use_and_expires(session):
    made = await create_invite(session, "Rina", "agent", ["Dhaka"], False, 30, None, NOW, 72)
    agent = await redeem_invite(session, made.code, 111, 111, NOW + timedelta(hours=1))
    assert (agent.id, agent.telegram_user_id, agent.active, agent.daily_capacity) == (
        made.agent_id,
        111,
        True,
        30,
    )
    with pytest.raises(Conflict):
        await redeem_invite(session, made.code, 222, 222, NOW + timedelta(hours=2))
    late = await create_invite(session, "Karim", "agent", [], True, None, None, NOW, 1)
    with pytest.raises(Conflict):
        await redeem_invite(session, late.code, 333, 333, NOW + timedelta(hours=2))
    with pytest.raises(NotFound):
        await redeem_invite(session, "nope", 333, 333, NOW)
    other = await create_invite(session, "Twice", "agent", [], False, None, None, NOW, 5)
    with pytest.raises(Conflict):  # one Telegram account, one agent
        await redeem_invite(session, other.code, 111, 111, NOW)
    with pytest.raises(InvalidInput):
        await create_invite(session, "X", "boss", [], False, None, None, NOW, 5)
    pending = await session.get(Agent, late.agent_id)
    assert pending is not None and pending.active is False


async def test_overview_and_queue_order(session):
    agent = await make_agent(session)
    other = await make_agent(session)
    c = await make_customer(session)
    hot = await make_task(session, customer_id=c.id, agent_id=agent.id, priority_level="hot")
    warm1 = await make_task(session, customer_id=c.id, agent_id=agent.id, priority_level="warm")
    warm2 = await make_task(session, customer_id=c.id, agent_id=agent.id, priority_level="warm")
    cold = await make_task(session, customer_id=c.id, agent_id=agent.id, priority_level="cold")
    later = await make_task(
        session, customer_id=c.id, agent_id=agent.id, priority_level="hot", priority=99_999_999
    )
    later.due_at = NOW + timedelta(hours=2)
    await make_task(session, customer_id=c.id, agent_id=agent.id, due_date=DAY + timedelta(1))
    await make_task(session, customer_id=c.id, agent_id=other.id, priority_level="hot")
    done = await make_task(session, customer_id=c.id, agent_id=agent.id, priority_level="cold")
    done.status, done.completed_at = "done", NOW - timedelta(minutes=5)
    await session.flush()

    ov = await today_overview(session, agent.id, DAY, NOW)
    assert (ov.total, ov.pending, ov.waiting, ov.completed) == (6, 4, 1, 1)
    assert ov.by_level == {"hot": 2, "warm": 2, "cold": 2}
    assert ov.pending_by_level == {"hot": 1, "warm": 2, "cold": 1}

    first = await next_task(session, agent.id, DAY, NOW)
    assert first is not None and first.id == hot.id  # the later one is not yet due
    seen = [first.id]
    for _ in range(4):
        nxt = await next_task(session, agent.id, DAY, NOW, after_task_id=seen[-1])
        assert nxt is not None
        seen.append(nxt.id)
    assert seen == [hot.id, warm1.id, warm2.id, cold.id, hot.id]  # wraps round
    due_now = await next_task(session, agent.id, DAY, NOW + timedelta(hours=3))
    assert due_now is not None and due_now.id == later.id

    lines, total = await list_tasks(session, agent.id, DAY, page=1, page_size=2)
    assert total == 5 and [t.id for t in lines] == [warm1.id, warm2.id]


async def test_every_outcome(session):
    agent = await make_agent(session)
    c = await make_customer(session)
    c2 = await make_customer(session)
    t = [await make_task(session, customer_id=c.id, agent_id=agent.id) for _ in range(5)]
    spare = await make_task(session, customer_id=c2.id, agent_id=agent.id)
    sibling = await make_task(session, customer_id=c2.id, agent_id=agent.id)

    async def record(task: Task, outcome: str, **kw: object) -> OutcomeResult:
        result = await record_outcome(session, task.id, agent.id, outcome, NOW, **kw)  # type: ignore[arg-type]
        await session.refresh(task)  # the outcome is one UPDATE: reload what it changed
        return result

    r = await record(t[0], "ordered", team=TEAM)
    assert r.closed and t[0].status == "done" and t[0].outcome == "ordered"
    assert t[0].completed_at == NOW

    r = await record(t[1], "no_answer", team=TEAM)
    assert not r.closed and t[1].attempts == 1 and t[1].due_at == NOW + timedelta(hours=3)
    assert (r.due_at, r.due_date) == (NOW + timedelta(hours=3), DAY)
    with pytest.raises(Conflict):  # not yet due is fine, but closed is not: close it
        await record(t[0], "ordered", team=TEAM)
    r = await record(t[1], "no_answer", team=TEAM)
    assert r.closed and t[1].status == "done" and t[1].outcome == "no_answer"
    assert t[1].attempts == 2 and t[1].due_at == NOW + timedelta(hours=3)  # kept as it was

    r = await record(t[2], "call_later", later="2h", team=TEAM)
    assert t[2].due_at == NOW + timedelta(hours=2) and t[2].status == "open" and not r.closed
    r = await record(t[2], "call_later", later="tomorrow", team=TEAM)
    assert t[2].due_date == DAY + timedelta(days=1) and t[2].due_at is None
    await record(t[2], "call_later", later="3d", team=TEAM)
    assert t[2].due_date == DAY + timedelta(days=3)
    with pytest.raises(InvalidInput):
        await record(t[2], "call_later", later="9y")

    await record(t[3], "not_interested", reason="price")
    assert (t[3].status, t[3].outcome, t[3].outcome_note) == ("done", "not_interested", "price")
    with pytest.raises(InvalidInput):
        await record(t[4], "not_interested", reason="bored")

    await record(t[4], "note", note="  বিকেলে ফোন করুন ")
    assert t[4].status == "open" and t[4].outcome_note == "বিকেলে ফোন করুন"
    with pytest.raises(InvalidInput):
        await record(t[4], "note", note="   ")

    await record(spare, "wrong_number")
    await session.refresh(c2)
    await session.refresh(sibling)
    assert c2.phone_valid is False and sibling.status == "cancelled"
    assert spare.status == "done" and spare.outcome == "wrong_number"

    kinds = dict(
        (
            await session.execute(
                select(Engagement.outcome, func.count()).group_by(Engagement.outcome)
            )
        ).all()
    )
    assert kinds == {
        "ordered": 1,
        "no_answer": 2,
        "call_later": 3,
        "not_interested": 1,
        "note": 1,
        "wrong_number": 1,
    }
    tally = await day_tally(session, agent.id, DAY)
    assert tally["closed"] == 4 and tally["no_answer"] == 2


async def test_forged_stale_and_reassign(session):
    a = await make_agent(session)
    b = await make_agent(session)
    c = await make_customer(session)
    task = await make_task(session, customer_id=c.id, agent_id=a.id)
    with pytest.raises(PermissionDenied):
        await record_outcome(session, task.id, b.id, "ordered", NOW)
    await reassign(session, task.id, b.id)
    with pytest.raises(PermissionDenied):  # a's old button is stale now
        await record_outcome(session, task.id, a.id, "ordered", NOW)
    await record_outcome(session, task.id, b.id, "ordered", NOW)
    with pytest.raises(Conflict):
        await reassign(session, task.id, a.id)
    with pytest.raises(Conflict):  # closed: a second tap changes nothing
        await record_outcome(session, task.id, b.id, "no_answer", NOW)
    with pytest.raises(NotFound):
        await record_outcome(session, 987654, b.id, "ordered", NOW)
    logged = await session.scalar(
        select(func.count()).select_from(Engagement).where(Engagement.task_id == task.id)
    )
    assert logged == 1  # refusals log nothing


async def test_customer_visibility(session):
    a = await make_agent(session)
    b = await make_agent(session)
    boss = await make_agent(session, role="manager")
    mine = await make_customer(session, assigned_agent_id=a.id)
    tasked = await make_customer(session)
    await make_task(session, customer_id=tasked.id, agent_id=a.id)
    await require_customer_access(session, a, mine.id)
    await require_customer_access(session, a, tasked.id)
    await require_customer_access(session, boss, mine.id)
    with pytest.raises(PermissionDenied):
        await require_customer_access(session, b, mine.id)


async def test_deactivate_releases_open_tasks(session):
    a = await make_agent(session)
    c = await make_customer(session, assigned_agent_id=a.id)
    open_task = await make_task(session, customer_id=c.id, agent_id=a.id)
    closed = await make_task(session, customer_id=c.id, agent_id=a.id, status="done")
    counts = await deactivate_agent_and_reassign(session, a.id, DAY)
    assert counts["released"] == 1
    for obj in (a, c, open_task, closed):
        await session.refresh(obj)
    assert a.active is False and c.assigned_agent_id is None
    assert open_task.agent_id is None and closed.agent_id == a.id


async def test_card_has_customer_and_products(session):
    a = await make_agent(session)
    c = await make_customer(session, name="Rahima", tier="gold", total_spend=12500)
    task = await make_task(session, customer_id=c.id, agent_id=a.id, suggestion={"sku": "X"})
    card = await load_card(session, task.id)
    assert (card.customer_name, card.tier, card.phone) == ("Rahima", "gold", c.phone)
    assert card.suggestion == {"sku": "X"} and card.top_products == [] and card.outlook is None
    model = PredictionModel(version="bgnbd-t", fitted_on=DAY, status="fitted")
    session.add(model)
    await session.flush()
    session.add(
        CustomerPrediction(
            customer_id=c.id,
            as_of=DAY,
            model_id=model.id,
            p_alive=0.8,
            expected_orders_30=1.0,
            expected_orders_90=2.5,
            clv_12m=9000.0,
        )
    )
    await session.flush()
    outlook = (await load_card(session, task.id)).outlook
    assert outlook is not None and (outlook.p_alive, outlook.model_version) == (0.8, "bgnbd-t")
    assert outlook.expected_next_order_days == 24  # 30 · 0.8 / 1.0
    assert await session.scalar(select(func.count()).select_from(Customer)) >= 1
    assert await session.scalar(select(func.count()).select_from(Task)) == 1
