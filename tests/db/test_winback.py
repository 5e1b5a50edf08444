"""Win-back stages on both databases: thresholds, own rhythm, escalation, once per spell."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from core.models import Coupon, Message, Task
from core.winback import (
    _candidates,
    stages_of,
    winback_stage,
    winback_step,
    winback_thresholds,
)
from tests.factories import apply_shop_config, make_customer, make_order, make_product, utc

LAST = date(2026, 1, 1)


def test_thresholds_follow_the_customer_rhythm() -> None:
    assert winback_thresholds([30, 60, 90], None, 1, 3) == [30, 60, 90]
    assert winback_thresholds([30, 60, 90], 10.0, 5, 3) == [30, 60, 90]  # never sooner
    assert winback_thresholds([30, 60, 90], 45.0, 5, 3) == [45, 90, 135]
    assert winback_thresholds([30, 60, 90], 45.0, 2, 3) == [30, 60, 90]  # too few orders


def test_a_stage_fires_within_grace_of_crossing_its_threshold() -> None:
    t = [30, 60, 90]
    days = (29, 30, 36, 37, 59, 60, 66, 67, 89, 90, 96, 97, 180)
    assert [winback_stage(d, t, 7) for d in days] == [
        None, 0, 0, None, None, 1, 1, None, None, 2, 2, None, None,
    ]  # fmt: skip
    # a grace longer than the gap to the next stage ends at the next threshold
    assert [winback_stage(d, [30, 35], 7) for d in (34, 35, 41, 42)] == [0, 1, 1, None]


async def test_first_run_on_an_old_shop_messages_only_who_crossed_a_threshold(session):
    cfg = await apply_shop_config(session)
    rice = await make_product(session, category="rice")
    as_of = date(2026, 3, 10)
    silent = {
        "crossed_30_today": 30,  # 8 Feb 2026
        "crossed_30_six_days_ago": 36,  # 2 Feb
        "past_30_by_a_week": 37,  # 1 Feb: missed the grace, waits for the 60-day stage
        "midway": 45,  # 24 Jan
        "crossed_90_today": 90,  # 10 Dec 2025
        "long_gone": 200,  # 21 Aug 2025
    }
    ids = {}
    for label, days in silent.items():
        c = await make_customer(session)
        await make_order(session, c, as_of - timedelta(days=days), [(rice, 5)])
        ids[c.id] = label
    counts = await winback_step(session, as_of, cfg)
    assert (counts["stage_30"], counts["stage_60"], counts["stage_90"]) == (2, 0, 1)
    keys = (await session.scalars(select(Coupon.dedupe_key).order_by(Coupon.id))).all()
    assert sorted(ids[int(k.split(":")[2])] + ":" + k.split(":")[3] for k in keys) == [
        "crossed_30_six_days_ago:2026-02-02",
        "crossed_30_today:2026-02-08",
        "crossed_90_today:2025-12-10",
    ]
    # the one a week past 30 days gets the 60-day stage when it comes (24 days later)
    later = await winback_step(session, as_of + timedelta(days=23), cfg)
    assert later["stage_60"] == 1


async def test_escalates_once_per_stage_and_spell(session):
    cfg = await apply_shop_config(session)
    rice = await make_product(session, category="rice")
    c = await make_customer(session)
    await make_order(session, c, LAST, [(rice, 5)])

    assert (await winback_step(session, LAST + timedelta(days=29), cfg))["candidates"] == 0
    first = await winback_step(session, LAST + timedelta(days=30), cfg)
    assert (first["stage_30"], first["messages"], first["tasks"]) == (1, 1, 0)
    for d in (30, 31, 45):  # the same stage never again in this spell
        assert (await winback_step(session, LAST + timedelta(days=d), cfg))["candidates"] == 0
    assert (await winback_step(session, LAST + timedelta(days=60), cfg))["stage_60"] == 1
    assert (await winback_step(session, LAST + timedelta(days=95), cfg))["stage_90"] == 1
    assert (await winback_step(session, LAST + timedelta(days=100), cfg))["candidates"] == 0

    coupons = (await session.scalars(select(Coupon).order_by(Coupon.id))).all()
    assert [x.dedupe_key for x in coupons] == [
        f"winback:{n}:{c.id}:2026-01-01" for n in (30, 60, 90)
    ]
    assert all(x.code.startswith("WELCOME_BACK-") for x in coupons)
    msgs = (await session.scalars(select(Message).order_by(Message.id))).all()
    assert [m.template_key for m in msgs] == ["winback"] * 3
    assert [m.variables["coupon"] for m in msgs] == [x.code for x in coupons]

    # a new order starts a new spell
    await make_order(session, c, LAST + timedelta(days=101), [(rice, 5)])
    again = await winback_step(session, LAST + timedelta(days=131), cfg)
    assert again["stage_30"] == 1


async def test_hot_gets_a_call_task_opted_out_gets_nothing(session):
    cfg = await apply_shop_config(session)
    rice = await make_product(session, category="rice", name_bn="মিনিকেট চাল")
    hot = await make_customer(session, priority_level="hot")
    gone = await make_customer(session, priority_level="hot", opted_out_at=utc(LAST))
    for c in (hot, gone):
        await make_order(session, c, LAST, [(rice, 5)])
    counts = await winback_step(session, LAST + timedelta(days=30), cfg)
    assert (counts["candidates"], counts["tasks"], counts["messages"]) == (1, 1, 1)
    (task,) = (await session.scalars(select(Task))).all()
    assert (task.type, task.customer_id, task.script_key) == ("winback", hot.id, "script_winback")
    assert task.reason_bn.startswith("৩০ দিন কোনো অর্ডার নেই (শেষ অর্ডার ১ জানুয়ারি)")
    assert task.suggestion["products"][0]["sku"] == rice.sku
    (msg,) = (await session.scalars(select(Message))).all()
    assert msg.task_id == task.id and msg.variables["coupon"] == task.suggestion["offer_code"]


async def test_own_rhythm_delays_the_first_stage(session):
    cfg = await apply_shop_config(session)
    rice = await make_product(session, category="rice")
    c = await make_customer(session)
    for d in (date(2025, 10, 3), date(2025, 11, 17), LAST):  # every 45 days
        await make_order(session, c, d, [(rice, 5)])
    assert (await winback_step(session, LAST + timedelta(days=40), cfg))["candidates"] == 0
    assert (await winback_step(session, LAST + timedelta(days=45), cfg))["stage_30"] == 1


async def test_candidate_query_finds_every_stage_at_the_edges_of_its_window(session):
    """The SQL pre-selection (date ranges without a rhythm, stretched thresholds with one) keeps
    every customer the exact Python rule stages, on each side of every window's edge."""
    cfg = await apply_shop_config(session)
    base = [s.inactive_days for s in stages_of(cfg)]
    grace = cfg.coupons.winback_grace_days
    min_orders = cfg.segments.rhythm_min_orders
    as_of = date(2026, 6, 1)
    rhythms = [(None, 1), (20.0, 5), (30.0, 5), (31.0, 5), (45.0, 5), (45.0, 2), (47.5, 3)]
    expected = set()
    for days in range(base[0] - 2, 3 * base[-1] // 2 + grace + 3):
        for gap, count in rhythms:
            c = await make_customer(
                session,
                last_order_date=as_of - timedelta(days=days),
                avg_days_between_orders=gap,
                order_count=count,
            )
            thresholds = winback_thresholds(base, gap, count, min_orders)
            if winback_stage(days, thresholds, grace) is not None:
                expected.add(c.id)
    found = {r.id for r in await session.execute(_candidates(session, as_of, cfg, base))}
    assert expected and expected <= found
