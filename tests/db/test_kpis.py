"""KPIs on a hand-built shop with literal dates and exact expected numbers (SQLite and PostgreSQL).

The day under review is Tuesday 2026-03-10; the week is 2026-03-04 … 2026-03-10. Agents: Rahim
(A1) and Karim (A2), and a manager with no activity. Seven customers:

    C1 active/hot    orders 01-06 ৳1000, 01-31 ৳1500, 03-06 ৳500, 03-10 ৳2000 (15:00)
    C2 at_risk/warm  orders 02-01 ৳800, 02-21 ৳700, 03-01 ৳5000 cancelled
    C3 new/warm      order 03-10 ৳1200 pending (13:00)
    C4 churned/cold  orders 02-15 ৳300, 03-12 ৳999 (after the day)
    C5 prospect/cold no orders
    C6 churned/cold  order 01-10 ৳400 returned (not counted)
    C7 active/hot    orders 03-09 ৳700, 03-10 ৳300 (10:00)
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import SHOP_TZ
from core.kpis import (
    AgentDay,
    Influence,
    MessageFunnel,
    campaign_report,
    customer_kpis,
    daily_summary,
    team_report,
)
from tests.factories import (
    make_agent,
    make_campaign,
    make_campaign_member,
    make_coupon,
    make_coupon_rule,
    make_customer,
    make_engagement,
    make_message,
    make_order,
    make_redemption,
    make_task,
)

DAY = date(2026, 3, 10)
WEEK_START = date(2026, 3, 4)


def dk(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """An instant in Dhaka time, 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHOP_TZ)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


async def order(session: AsyncSession, customer: Any, on: date, total: int, **kw: Any) -> Any:
    return await make_order(
        session,
        customer,
        on,
        [],
        total=Decimal(total),
        refresh=False,
        ordered_at=kw.pop("ordered_at", datetime.combine(on, datetime.min.time(), SHOP_TZ)),
        **kw,
    )


async def build_shop(session: AsyncSession) -> dict[str, Any]:
    """The fixture described in the module docstring; returns the rows tests refer to."""
    seg = {"segments_as_of": DAY}
    c1 = await make_customer(session, lifecycle_stage="active", priority_level="hot", **seg)
    c2 = await make_customer(session, lifecycle_stage="at_risk", priority_level="warm", **seg)
    c3 = await make_customer(session, lifecycle_stage="new", priority_level="warm", **seg)
    c4 = await make_customer(session, lifecycle_stage="churned", priority_level="cold", **seg)
    c5 = await make_customer(session, lifecycle_stage="prospect", priority_level="cold", **seg)
    c6 = await make_customer(session, lifecycle_stage="churned", priority_level="cold", **seg)
    c7 = await make_customer(session, lifecycle_stage="active", priority_level="hot", **seg)

    await order(session, c1, d(1, 6), 1000)
    await order(session, c1, d(1, 31), 1500)
    o1_mar6 = await order(session, c1, d(3, 6), 500)
    await order(session, c1, d(3, 10), 2000, ordered_at=dk(3, 10, 15))
    await order(session, c2, d(2, 1), 800)
    await order(session, c2, d(2, 21), 700)
    await order(session, c2, d(3, 1), 5000, status="cancelled")
    o3 = await order(session, c3, d(3, 10), 1200, status="pending", ordered_at=dk(3, 10, 13))
    await order(session, c4, d(2, 15), 300)
    await order(session, c4, d(3, 12), 999)
    await order(session, c6, d(1, 10), 400, status="returned")
    await order(session, c7, d(3, 9), 700)
    await order(session, c7, d(3, 10), 300, ordered_at=dk(3, 10, 10))

    rahim = await make_agent(session, name="Rahim")
    karim = await make_agent(session, name="Karim")
    await make_agent(session, name="Nasrin", role="manager")

    async def task(agent: Any, customer: Any, created: date, due: date, **kw: Any) -> Any:
        return await make_task(
            session,
            agent_id=agent.id if agent else None,
            customer_id=customer.id,
            created_on=created,
            due_date=due,
            **kw,
        )

    def done(at: datetime, outcome: str | None = None) -> dict[str, Any]:
        return {"status": "done", "completed_at": at, "outcome": outcome}

    t1 = await task(rahim, c1, d(3, 8), d(3, 9), **done(dk(3, 9, 10), "ordered"))
    t2 = await task(rahim, c3, d(3, 10), d(3, 10), **done(dk(3, 10, 11), "ordered"))
    t3 = await task(rahim, c2, d(3, 10), d(3, 10))
    t4 = await task(karim, c2, d(3, 5), d(3, 6), **done(dk(3, 6, 10), "not_interested"))
    await task(karim, c4, d(3, 10), d(3, 10), status="cancelled")
    t7 = await task(karim, c1, d(3, 4), d(3, 5), **done(dk(3, 5, 10), "ordered"))
    await task(None, c5, d(3, 10), d(3, 11))
    t9 = await task(karim, c7, d(3, 1), d(3, 2), **done(dk(3, 2, 10), "ordered"))
    # done just after local midnight (still 03-10 in UTC) and just before it
    await task(karim, c2, d(3, 9), d(3, 11), **done(dk(3, 11, 0, 30)))
    await task(karim, c4, d(3, 9), d(3, 11), **done(dk(3, 10, 23, 30)))

    async def call(agent: Any, t: Any, customer: Any, outcome: str, at: datetime, **kw: Any):
        return await make_engagement(
            session,
            customer.id,
            agent_id=agent.id,
            task_id=t.id if t else None,
            outcome=outcome,
            occurred_at=at,
            **kw,
        )

    await call(rahim, t1, c1, "ordered", dk(3, 9, 10))
    await call(rahim, t2, c3, "ordered", dk(3, 10, 11))
    await call(rahim, t3, c2, "no_answer", dk(3, 10, 12))
    await call(rahim, t3, c2, "note", dk(3, 10, 12, 5), kind="note")
    await call(karim, t4, c2, "not_interested", dk(3, 6, 10))
    await call(karim, t7, c1, "ordered", dk(3, 5, 10))
    await call(karim, t9, c7, "ordered", dk(3, 2, 10))
    await call(karim, None, c3, "ordered", dk(3, 10, 9))  # no task: neither a call nor influence

    feb = await make_campaign(
        session, key="feb", month=2, start_date=d(2, 1), end_date=d(2, 28), status="ended"
    )
    march = await make_campaign(session, key="march", start_date=d(3, 1), end_date=d(3, 31))
    await make_campaign(
        session, key="april", month=4, start_date=d(4, 1), end_date=d(4, 30), status="scheduled"
    )
    for c in (c1, c2, c3, c7):
        await make_campaign_member(session, march.id, c.id)
    for c in (c4, c6):
        await make_campaign_member(session, march.id, c.id, holdout=True)

    async def msg(customer: Any, status: str, queued_on: date, **kw: Any) -> Any:
        return await make_message(session, customer.id, status=status, queued_on=queued_on, **kw)

    mar = {"campaign_id": march.id}
    m1 = await msg(
        c1, "read", d(3, 1), sent_at=dk(3, 1, 10), delivered_at=dk(3, 1, 10, 1),
        read_at=dk(3, 1, 11), **mar,
    )  # fmt: skip
    m2 = await msg(
        c2, "delivered", d(3, 1), sent_at=dk(3, 1, 10), delivered_at=dk(3, 1, 10, 2), **mar
    )
    await msg(c3, "failed", d(3, 1), failed_at=dk(3, 1, 10), error_code="63016", **mar)
    await msg(
        c7, "undelivered", d(3, 1), sent_at=dk(3, 1, 10), failed_at=dk(3, 1, 11),
        error_code="30008", **mar,
    )  # fmt: skip
    await msg(c3, "failed", d(3, 1), failed_at=dk(3, 2, 10), **mar)
    await msg(c7, "queued", d(3, 10), send_on=d(3, 11), **mar)
    await msg(c2, "cancelled", d(3, 1), **mar)

    await msg(c5, "queued", d(3, 10))
    n2 = await msg(
        c2, "read", d(3, 9), sent_at=dk(3, 10, 9, 30), delivered_at=dk(3, 10, 9, 31),
        read_at=dk(3, 10, 12),
    )  # fmt: skip
    await msg(c7, "delivered", d(3, 10), sent_at=dk(3, 10, 23, 50), delivered_at=dk(3, 11, 0, 10))
    await msg(c2, "failed", d(3, 10), failed_at=dk(3, 10, 10), error_code="63016")
    await msg(c1, "read", d(3, 8), sent_at=dk(3, 8, 10), read_at=dk(3, 10, 8))
    await msg(c7, "delivered", d(3, 2), sent_at=dk(3, 2, 23, 58), delivered_at=dk(3, 2, 23, 59))
    await msg(c7, "delivered", d(3, 2), sent_at=dk(3, 2, 23, 59), delivered_at=dk(3, 3, 0, 0))

    async def reply(customer: Any, message: Any, at: datetime) -> None:
        await make_engagement(
            session, customer.id, message_id=message.id, kind="reply", channel="whatsapp",
            direction="in", body="হ্যাঁ", occurred_at=at,
        )  # fmt: skip

    await reply(c1, m1, dk(3, 1, 12))
    await reply(c1, m1, dk(3, 2, 12))
    await reply(c2, m2, dk(3, 11, 9))
    await reply(c2, n2, dk(3, 10, 13))

    rule = await make_coupon_rule(session)
    q1 = await make_coupon(session, rule.id, customer_id=c1.id, campaign_id=march.id)
    await make_coupon(session, rule.id, customer_id=c2.id, campaign_id=march.id)
    q3 = await make_coupon(session, rule.id, customer_id=c3.id, campaign_id=march.id)
    await make_coupon(session, rule.id, customer_id=c7.id, campaign_id=march.id, issued_on=d(3, 15))
    await make_redemption(session, q1.id, o1_mar6)
    await make_redemption(session, q3.id, o3)
    await session.commit()
    return {"rahim": rahim, "karim": karim, "feb": feb, "march": march}


async def test_customer_kpis(session: AsyncSession) -> None:
    await build_shop(session)
    k = await customer_kpis(session, DAY)
    assert (k.customers, k.buyers, k.repeat_buyers) == (7, 5, 3)
    assert k.repeat_purchase_rate == 0.6
    assert k.avg_days_between_orders == 14.0  # C1 63/3 = 21, C2 20, C7 1
    assert (k.segmented_buyers, k.at_risk, k.churned) == (6, 1, 2)
    assert k.at_risk_rate == 1 / 6
    assert k.churn_rate == 2 / 6
    assert k.ltv_mean == Decimal("1800.00")  # (5000 + 1500 + 1200 + 300 + 1000) / 5
    assert k.ltv_median == Decimal("1200.00")
    assert k.segments_as_of == DAY

    earlier = await customer_kpis(session, d(2, 28))
    assert (earlier.buyers, earlier.repeat_buyers) == (3, 2)
    assert earlier.repeat_purchase_rate == 2 / 3
    assert earlier.avg_days_between_orders == 22.5  # C1 25, C2 20
    assert earlier.ltv_mean == Decimal("1433.33")  # (2500 + 1500 + 300) / 3
    assert earlier.ltv_median == Decimal("1500.00")


async def test_team_report_week(session: AsyncSession) -> None:
    rows = await build_shop(session)
    report = await team_report(session, WEEK_START, DAY, attribution_days=7)
    assert [a.agent_name for a in report] == ["Rahim", "Karim"]  # the manager had no activity
    rahim, karim = report
    assert rahim.agent_id == rows["rahim"].id and rahim.days == 7
    assert (rahim.calls, rahim.ordered, rahim.tasks_due, rahim.tasks_done) == (3, 2, 3, 2)
    assert rahim.calls_per_day == 3 / 7
    assert rahim.conversion_rate == 2 / 3
    assert rahim.followup_completion_rate == 2 / 3
    # C1's 03-10 order: Karim (03-05) and Rahim (03-09) both preceded it; the last touch wins
    assert (rahim.orders_influenced, rahim.revenue_influenced) == (2, Decimal("3200.00"))
    assert (karim.calls, karim.ordered, karim.tasks_due, karim.tasks_done) == (2, 1, 2, 2)
    assert karim.calls_per_day == 2 / 7
    assert karim.conversion_rate == 0.5
    assert karim.followup_completion_rate == 1.0
    # C1 03-06 (after Karim's 03-05) and C7 03-09 (exactly 7 days after 03-02); not C7 03-10
    assert (karim.orders_influenced, karim.revenue_influenced) == (2, Decimal("1200.00"))

    shorter = {a.agent_name: a for a in await team_report(session, WEEK_START, DAY, 6)}
    assert shorter["Karim"].orders_influenced == 1
    assert shorter["Karim"].revenue_influenced == Decimal("500.00")


async def test_team_report_day(session: AsyncSession) -> None:
    await build_shop(session)
    report = {a.agent_name: a for a in await team_report(session, DAY, DAY)}
    rahim, karim = report["Rahim"], report["Karim"]
    assert (rahim.calls, rahim.calls_per_day, rahim.conversion_rate) == (2, 2.0, 0.5)
    assert (rahim.tasks_due, rahim.tasks_done, rahim.followup_completion_rate) == (2, 1, 0.5)
    assert (rahim.orders_influenced, rahim.revenue_influenced) == (2, Decimal("3200.00"))
    assert (karim.calls, karim.tasks_due, karim.orders_influenced) == (0, 0, 0)
    assert (karim.conversion_rate, karim.followup_completion_rate) == (0.0, 0.0)


async def test_campaign_report(session: AsyncSession) -> None:
    rows = await build_shop(session)
    report = await campaign_report(session, DAY)
    assert [c.key for c in report] == ["march", "feb"]  # April has not started
    march, feb = report
    assert march.campaign_id == rows["march"].id and march.window_end == DAY
    assert (march.targeted, march.holdout) == (4, 2)
    assert (march.queued, march.sent, march.delivered, march.read, march.failed) == (7, 5, 2, 1, 3)
    assert march.delivery_rate == 0.4
    assert (march.replied, march.response_rate) == (1, 0.5)  # two replies to one message
    assert (march.converted, march.conversion_rate) == (3, 0.75)
    assert (march.holdout_converted, march.holdout_conversion_rate) == (0, 0.0)
    assert march.uplift == 0.75
    assert (march.coupons_issued, march.coupons_redeemed) == (3, 2)
    assert march.redemption_rate == 2 / 3
    assert march.errors == {"30008": 1, "63016": 1, "unknown": 1}

    assert (feb.targeted, feb.holdout, feb.queued, feb.sent) == (0, 0, 0, 0)
    assert (feb.delivery_rate, feb.conversion_rate, feb.redemption_rate) == (0.0, 0.0, 0.0)
    assert feb.uplift is None and feb.errors == {}

    later = {c.key: c for c in await campaign_report(session, d(3, 31))}["march"]
    assert (later.replied, later.response_rate) == (2, 1.0)
    assert (later.holdout_converted, later.holdout_conversion_rate) == (1, 0.5)  # C4 on 03-12
    assert later.uplift == 0.25
    assert (later.coupons_issued, later.coupons_redeemed, later.redemption_rate) == (4, 2, 0.5)


async def test_daily_summary(session: AsyncSession) -> None:
    rows = await build_shop(session)
    s = await daily_summary(session, DAY, attribution_days=7)
    assert s.agents == [
        AgentDay(rows["karim"].id, "Karim", generated=1, completed=1),
        AgentDay(rows["rahim"].id, "Rahim", generated=2, completed=1),
        AgentDay(None, "unassigned", generated=1, completed=0),
    ]
    assert (s.tasks_generated, s.tasks_completed) == (4, 2)
    assert s.messages == MessageFunnel(queued=4, sent=3, delivered=2, read=2, failed=1, replied=1)
    assert (s.orders, s.revenue) == (3, Decimal("3500.00"))
    assert s.influenced_by_tasks == Influence(2, Decimal("3200.00"))  # C1, C3
    assert s.influenced_by_messages == Influence(2, Decimal("2300.00"))  # C1, C7
    assert s.influenced == Influence(3, Decimal("3500.00"))
    assert s.priority_split == {"hot": 2, "warm": 2, "cold": 3}
    assert s.lifecycle_split == {"prospect": 1, "new": 1, "active": 2, "at_risk": 1, "churned": 2}

    # with six days, C7's message delivered at the start of 03-03 falls outside the window
    shorter = await daily_summary(session, DAY, attribution_days=6)
    assert shorter.influenced_by_messages == Influence(1, Decimal("2000.00"))

    data = s.to_dict()
    assert data["day"] == "2026-03-10" and data["revenue"] == "3500.00"
    assert data["agents"][2] == {
        "agent_id": None,
        "agent_name": "unassigned",
        "generated": 1,
        "completed": 0,
    }
    assert data["messages"]["replied"] == 1


async def test_empty_database_gives_zeros(session: AsyncSession) -> None:
    k = await customer_kpis(session, DAY)
    assert (k.customers, k.buyers, k.repeat_purchase_rate, k.avg_days_between_orders) == (
        0,
        0,
        0.0,
        0.0,
    )
    assert (k.at_risk_rate, k.ltv_mean, k.ltv_median, k.segments_as_of) == (
        0.0,
        Decimal("0.00"),
        Decimal("0.00"),
        None,
    )
    s = await daily_summary(session, DAY)
    assert s.agents == [] and s.messages == MessageFunnel(0, 0, 0, 0, 0, 0)
    assert s.influenced == Influence(0, Decimal("0.00")) and s.revenue == Decimal("0.00")
    assert s.priority_split == {"hot": 0, "warm": 0, "cold": 0}
    assert await team_report(session, WEEK_START, DAY) == []
    assert await campaign_report(session, DAY) == []


async def test_team_report_rejects_reversed_period(session: AsyncSession) -> None:
    with pytest.raises(ValueError):
        await team_report(session, DAY, WEEK_START)
