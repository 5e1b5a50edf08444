"""Campaign launch on both databases: target, holdout, messages once, follow-ups within capacity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.assignment import CALL_TYPES
from core.campaigns import campaign_step, pace, split_holdout
from core.models import Campaign, CampaignMember, Coupon, Customer, Message, Task
from core.shopconfig import ShopConfig, load_applied_config
from core.texts import render
from tests.factories import apply_shop_config, make_agent, make_customer, make_order, make_product

APRIL = "2026-04-seasonal-pack"  # target: everyone, 1–28 April 2026


def _clock() -> datetime:
    return datetime(2026, 4, 1, 2, 0, tzinfo=UTC)


async def _config(session: AsyncSession) -> ShopConfig:
    await apply_shop_config(session)
    await session.commit()
    return await load_applied_config(session)


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _campaign(session: AsyncSession, key: str) -> Campaign:
    campaign = await session.scalar(select(Campaign).where(Campaign.key == key))
    assert campaign is not None
    return campaign


def test_pace_spreads_and_respects_room() -> None:
    days = [date(2026, 4, d) for d in range(1, 5)]
    assert pace(8, days, dict.fromkeys(days, 10)) == [d for d in days for _ in range(2)]
    room = {days[0]: 0, days[1]: 1, days[2]: 5, days[3]: 5}
    plan = pace(8, days, room)
    assert all(plan.count(d) <= room[d] for d in days) and None not in plan
    assert pace(3, days, dict.fromkeys(days, 0)) == [None, None, None]
    assert pace(3, days, dict.fromkeys(days, 10)) == days[:3]
    assert pace(0, days, dict.fromkeys(days, 10)) == []


def test_holdout_is_reproducible_and_near_the_percentage() -> None:
    ids = list(range(1, 10_001))
    held = split_holdout("2026-04-seasonal-pack", ids, 5.0)
    assert len(held) == 500
    assert held == split_holdout("2026-04-seasonal-pack", list(reversed(ids)), 5.0)
    assert held != split_holdout("2026-05-referral-bonus", ids, 5.0)
    low = sum(1 for i in held if i <= 5000)  # spread over the id range, not a block of it
    assert 200 < low < 300


async def test_launch_once_with_holdout_coupons_and_messages(session: AsyncSession) -> None:
    cfg = await _config(session)
    people = [await make_customer(session) for _ in range(60)]
    opted_out = await make_customer(session, opted_out_at=datetime(2026, 1, 1, tzinfo=UTC))
    await session.commit()

    out = await campaign_step(session, date(2026, 4, 1), cfg, clock=_clock)
    await session.commit()
    assert out["campaigns_launched"] == 1
    campaign = await _campaign(session, APRIL)
    assert campaign.status == "launched" and campaign.launched_at == _clock()
    assert campaign.launched_on == date(2026, 4, 1)

    members = (
        await session.scalars(
            select(CampaignMember).where(CampaignMember.campaign_id == campaign.id)
        )
    ).all()
    assert {m.customer_id for m in members} == {p.id for p in people}  # not the opted-out one
    held = {m.customer_id for m in members if m.holdout}
    assert held == split_holdout(APRIL, [p.id for p in people], 5.0) and len(held) == 3
    messages = (
        await session.scalars(select(Message).where(Message.campaign_id == campaign.id))
    ).all()
    assert {m.customer_id for m in messages} == {p.id for p in people} - held
    assert opted_out.id not in {m.customer_id for m in messages}
    coupons = {c.customer_id: c for c in (await session.scalars(select(Coupon))).all()}
    assert set(coupons) == {p.id for p in people} - held
    sample = messages[0]
    code = coupons[sample.customer_id].code
    assert code.startswith("SEASON-") and sample.variables["coupon"] == code
    assert render(cfg.templates.get("campaign_generic").bn, sample.variables, "bn") == (
        f"এই মাসের অফার: রমজান / সিজনাল প্যাক। কুপন কোড: {code} (মেয়াদ ১/৫/২০২৬ পর্যন্ত)"
    )

    for day in (date(2026, 4, 1), date(2026, 4, 2)):
        again = await campaign_step(session, day, cfg, clock=_clock)
        await session.commit()
        assert again["campaigns_launched"] == 0
    assert await _count(session, Message) == len(messages)
    assert await _count(session, Coupon) == len(coupons)


async def test_late_run_still_launches_once(session: AsyncSession) -> None:
    cfg = await _config(session)
    await make_customer(session)
    await session.commit()
    out = await campaign_step(session, date(2026, 4, 3), cfg, clock=_clock)
    await session.commit()
    assert out["campaigns_launched"] == 1
    out = await campaign_step(session, date(2026, 4, 4), cfg, clock=_clock)
    assert out["campaigns_launched"] == 0
    out = await campaign_step(session, date(2026, 4, 29), cfg, clock=_clock)
    assert out["campaigns_ended"] == 1


async def test_cross_sell_campaign_targets_rice_buyers_in_seed_words(session: AsyncSession) -> None:
    cfg = await _config(session)
    rice = await make_product(session, category="rice")
    oil = await make_product(session, category="oil")
    buyer = await make_customer(session, customer_type="repeat")
    await make_order(session, buyer, date(2026, 1, 10), [(rice, 5)])
    oil_only = await make_customer(session, customer_type="repeat")
    await make_order(session, oil_only, date(2026, 1, 10), [(oil, 1)])
    new_rice = await make_customer(session, customer_type="new")
    await make_order(session, new_rice, date(2026, 1, 10), [(rice, 5)])
    await session.commit()

    out = await campaign_step(session, date(2026, 2, 1), cfg, clock=_clock)
    await session.commit()
    assert out["campaign_members"] == 1
    message = await session.scalar(select(Message))
    assert message is not None and message.customer_id == buyer.id
    text = render(cfg.templates.get(message.template_key).bn, message.variables, "bn")
    assert text.startswith(
        "আপনি চাল নিয়েছেন—এই সপ্তাহে মশলায় বিশেষ ছাড় চলছে। চাইলে ২/৩টা মশলা কম্বো সাজেস্ট করতে পারি।"
    )
    assert text.endswith(message.variables["coupon"]) and "SPICE-" in text


async def test_hot_followups_paced_within_capacity_every_day(session: AsyncSession) -> None:
    cfg = await _config(session)
    await make_agent(session, daily_capacity=3, districts=["Dhaka"])
    await make_agent(session, daily_capacity=3, districts=["Dhaka"])
    await make_agent(session, role="admin", daily_capacity=50)  # not a caller
    capacity = 6
    hot = [
        await make_customer(session, priority_level="hot", total_spend=Decimal(9000))
        for _ in range(40)
    ]
    for _ in range(10):
        await make_customer(session, priority_level="warm")
    busy = await make_customer(session)
    for day, n in ((1, 5), (2, 6), (10, 4)):  # reminder calls already due on those days
        for i in range(n):
            session.add(_call(busy.id, date(2026, 4, day), f"r:{day}:{i}"))
    await session.commit()

    first = date(2026, 4, 1)
    for offset in range(28):
        today = first + timedelta(days=offset)
        if offset == 14:  # a busy morning: reminders came first and filled 5 of 6 calls
            for i in range(5):
                session.add(_call(busy.id, today, f"late:{i}"))
            await session.commit()
        await campaign_step(session, today, cfg, clock=_clock)
        await session.commit()
        due = await _count(
            session, Task, Task.due_date == today, Task.type.in_(CALL_TYPES), Task.status == "open"
        )
        assert due <= capacity, f"{today}: {due} calls for {capacity} slots"
        # the team works the day: nothing stays open into the next
        await session.execute(update(Task).where(Task.due_date <= today).values(status="done"))
        await session.commit()

    followups = (await session.scalars(select(Task).where(Task.type == "offer_followup"))).all()
    campaign = await _campaign(session, APRIL)
    held = split_holdout(APRIL, await _all_ids(session), 5.0)
    expected = {c.id for c in hot} - held
    assert {t.customer_id for t in followups} == expected
    assert len(followups) == len(expected)
    assert all(t.campaign_id == campaign.id for t in followups)
    per_day: dict[date, int] = {}
    for t in followups:
        per_day[t.due_date] = per_day.get(t.due_date, 0) + 1
    assert len(per_day) >= 14  # spread over the month, not all on day one
    assert per_day.get(date(2026, 4, 2), 0) == 0  # that day was already full


def _call(customer_id: int, due: date, key: str) -> Task:
    return Task(
        dedupe_key=key,
        type="reminder_call",
        customer_id=customer_id,
        status="open",
        priority=0,
        priority_level="warm",
        created_on=due,
        due_date=due,
    )


async def _all_ids(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(Customer.id))).all())
