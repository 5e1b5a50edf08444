"""Assignment on both databases: area, seniors, stickiness, roles, capacity, overflow report."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.assignment import assignment_step, overflow_report
from core.models import Task
from core.shopconfig import ShopConfig, load_applied_config
from core.tasks import task_priority
from tests.factories import apply_shop_config, make_agent, make_customer

DAY = date(2026, 3, 10)


async def _config(session: AsyncSession) -> ShopConfig:
    await apply_shop_config(session)
    await session.commit()
    return await load_applied_config(session)


def _task(
    customer_id: int, key: str, level: str = "warm", kind: str = "reminder_call", **kw: object
) -> Task:
    values: dict[str, object] = {
        "dedupe_key": key,
        "type": kind,
        "customer_id": customer_id,
        "status": "open",
        "priority_level": level,
        "priority": task_priority(level, 0),
        "created_on": DAY,
        "due_date": DAY,
    }
    values.update(kw)
    return Task(**values)


async def _agent_of(session: AsyncSession, key: str) -> int | None:
    return await session.scalar(select(Task.agent_id).where(Task.dedupe_key == key))


async def test_area_seniority_stickiness_and_roles(session: AsyncSession) -> None:
    cfg = await _config(session)
    junior = await make_agent(session, districts=["Dhaka"], daily_capacity=10)
    senior = await make_agent(session, districts=["Dhaka"], senior=True, daily_capacity=10)
    ctg = await make_agent(session, districts=["Chattogram"], daily_capacity=10)
    admin = await make_agent(session, role="admin", daily_capacity=10)
    support = await make_agent(session, role="support", daily_capacity=10)
    hot = await make_customer(session, district="Dhaka", priority_level="hot")
    warm = await make_customer(session, district="Dhaka", priority_level="warm")
    port = await make_customer(session, district=None, city="Chattogram")
    loyal = await make_customer(
        session, district="Dhaka", priority_level="hot", assigned_agent_id=junior.id
    )
    session.add_all(
        [
            _task(hot.id, "hot", "hot"),
            _task(warm.id, "warm"),
            _task(port.id, "port"),
            _task(loyal.id, "loyal", "hot"),
            _task(hot.id, "card", "hot", kind="card_generation"),
            _task(warm.id, "help", kind="support"),
            _task(warm.id, "tomorrow", due_date=date(2026, 3, 11)),
        ]
    )
    await session.commit()

    out = await assignment_step(session, DAY, cfg)
    await session.commit()
    assert out == {"assigned": 6, "overflow": 0}
    assert await _agent_of(session, "hot") == senior.id
    assert await _agent_of(session, "port") == ctg.id
    assert await _agent_of(session, "loyal") == junior.id  # sticky beats seniority
    assert await _agent_of(session, "warm") == junior.id  # equal load: lowest id
    assert await _agent_of(session, "card") == admin.id
    assert await _agent_of(session, "help") == support.id
    assert await _agent_of(session, "tomorrow") is None  # not due yet
    for c in (hot, port):
        await session.refresh(c)
    assert (hot.assigned_agent_id, port.assigned_agent_id) == (senior.id, ctg.id)

    again = await assignment_step(session, DAY, cfg)
    assert again == {"assigned": 0, "overflow": 0}


async def test_capacity_overflow_rolls_to_next_day_and_is_reported(session: AsyncSession) -> None:
    cfg = await _config(session)
    agent = await make_agent(session, districts=["Sylhet"], daily_capacity=2)
    people = [await make_customer(session, district="Sylhet") for _ in range(3)]
    session.add_all(
        [
            _task(people[0].id, "low", "cold"),
            _task(people[1].id, "high", "hot"),
            _task(people[2].id, "mid", "warm"),
        ]
    )
    await session.commit()

    out = await assignment_step(session, DAY, cfg)
    await session.commit()
    assert out == {"assigned": 2, "overflow": 1}
    assert await _agent_of(session, "high") == agent.id
    assert await _agent_of(session, "mid") == agent.id
    rolled = await session.scalar(select(Task).where(Task.dedupe_key == "low"))
    assert rolled is not None
    assert (rolled.agent_id, rolled.due_date, rolled.overflowed) == (None, date(2026, 3, 11), True)
    report = await overflow_report(session, DAY)
    assert report.waiting == 1 and report.by_district == {"Sylhet": 1}
    assert [line.task_id for line in report.top] == [rolled.id]

    await session.execute(update(Task).where(Task.due_date == DAY).values(status="done"))
    await session.commit()
    out = await assignment_step(session, date(2026, 3, 11), cfg)
    await session.commit()
    assert out == {"assigned": 1, "overflow": 0}
    assert await _agent_of(session, "low") == agent.id
    assert (await overflow_report(session, date(2026, 3, 11))).waiting == 0


async def test_no_admin_or_manager_means_card_tasks_overflow(session: AsyncSession) -> None:
    cfg = await _config(session)
    await make_agent(session, districts=["Dhaka"])
    c = await make_customer(session, district="Dhaka")
    session.add(_task(c.id, "card", kind="card_generation"))
    await session.commit()
    assert await assignment_step(session, DAY, cfg) == {"assigned": 0, "overflow": 1}
    manager = await make_agent(session, role="manager")
    await session.commit()
    assert await assignment_step(session, date(2026, 3, 11), cfg) == {"assigned": 1, "overflow": 0}
    assert await _agent_of(session, "card") == manager.id
    await session.refresh(c)
    assert c.assigned_agent_id is None  # back-office work does not make the manager sticky


async def test_full_callers_leave_the_backlog_rolling_while_admin_work_is_placed(
    session: AsyncSession,
) -> None:
    """Callers full from earlier days: the call backlog rolls over (not re-examined one by
    one) while a card task still reaches the admin; a task not yet due is left alone."""
    cfg = await _config(session)
    agent = await make_agent(session, districts=["Dhaka"], daily_capacity=1)
    admin = await make_agent(session, role="admin", daily_capacity=5)
    c = await make_customer(session, district="Dhaka")
    session.add_all(
        [
            _task(c.id, "queued", agent_id=agent.id, due_date=date(2026, 3, 9)),
            _task(c.id, "late", due_date=date(2026, 3, 1), overflowed=True),
            _task(c.id, "today", "hot"),
            _task(c.id, "card", kind="card_generation"),
            _task(c.id, "tomorrow", due_date=date(2026, 3, 11)),
        ]
    )
    await session.commit()
    assert await assignment_step(session, DAY, cfg) == {"assigned": 1, "overflow": 2}
    await session.commit()
    assert await _agent_of(session, "card") == admin.id
    rows = await session.execute(
        select(Task.dedupe_key, Task.agent_id, Task.due_date, Task.overflowed).order_by(Task.id)
    )
    assert [tuple(r) for r in rows] == [
        ("queued", agent.id, date(2026, 3, 9), False),
        ("late", None, date(2026, 3, 11), True),
        ("today", None, date(2026, 3, 11), True),
        ("card", admin.id, DAY, False),
        ("tomorrow", None, date(2026, 3, 11), False),
    ]
