"""Segmentation in SQL: exact values on a literal fixture, agreement with `classify`, transitions."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.customers.segments import FIELDS, classify, refresh_segments
from core.db import is_postgres
from core.models import Customer, SegmentTransition
from core.shopconfig.schema import SegmentsConfig
from tests.factories import inspected

CFG = SegmentsConfig()
AS_OF = date(2026, 3, 31)


def _customer(phone: int, **kw) -> Customer:
    values = {
        "phone": f"+88017{phone:08d}",
        "name": f"C{phone}",
        "order_count": 0,
        "total_spend": Decimal(0),
        "tier": "none",
    }
    values.update(kw)
    return Customer(**values)


async def test_exact_segments_and_transitions(session: AsyncSession) -> None:
    people = {
        "prospect": _customer(1),
        "new": _customer(
            2,
            order_count=1,
            total_spend=Decimal(800),
            first_order_date=date(2026, 3, 20),
            last_order_date=date(2026, 3, 20),
        ),
        "weekly_quiet": _customer(
            3,
            order_count=12,
            total_spend=Decimal(9000),
            avg_days_between_orders=7.0,
            first_order_date=date(2025, 12, 1),
            last_order_date=date(2026, 3, 10),
        ),
        "lapsed_small": _customer(
            4,
            order_count=1,
            total_spend=Decimal(500),
            first_order_date=date(2025, 10, 1),
            last_order_date=date(2025, 10, 1),
        ),
        "vip": _customer(
            5,
            order_count=9,
            total_spend=Decimal(20000),
            avg_days_between_orders=30.0,
            first_order_date=date(2025, 6, 1),
            last_order_date=date(2026, 3, 25),
        ),
    }
    session.add_all(people.values())
    await session.commit()

    counts = await refresh_segments(session, AS_OF, CFG)
    await session.commit()
    for c in people.values():
        await session.refresh(c)
    got = {n: (c.customer_type, c.lifecycle_stage, c.priority_level) for n, c in people.items()}
    assert got == {
        "prospect": ("new", "prospect", "warm"),
        "new": ("new", "new", "warm"),
        "weekly_quiet": ("vip", "at_risk", "hot"),
        "lapsed_small": ("inactive", "churned", "cold"),
        "vip": ("vip", "active", "hot"),
    }
    # the defaults (new/prospect/warm) were never these customers' state: their first
    # segmentation is where they start, counted as such, not as changes, and not logged
    assert counts == {
        **{f"{f}_changed": 0 for f in ("customer_type", "lifecycle_stage", "priority_level")},
        "first_segmented": 5,
    }
    assert (await session.scalars(select(SegmentTransition))).all() == []
    assert {c.segments_as_of for c in people.values()} == {AS_OF}

    # a second run on the same date changes nothing
    again = await refresh_segments(session, AS_OF, CFG)
    await session.commit()
    assert again == {
        **{f"{f}_changed": 0 for f in ("customer_type", "lifecycle_stage", "priority_level")},
        "first_segmented": 0,
    }

    # the customer moves back: an order arrives, the next day's run logs at_risk → active
    quiet = people["weekly_quiet"]
    quiet.last_order_date = AS_OF
    quiet.order_count = 13
    await session.commit()
    await refresh_segments(session, AS_OF + timedelta(days=1), CFG)
    await session.commit()
    back = await session.scalar(
        select(SegmentTransition).where(
            SegmentTransition.customer_id == quiet.id,
            SegmentTransition.field == "lifecycle_stage",
            SegmentTransition.transition_date == AS_OF + timedelta(days=1),
        )
    )
    assert back is not None and (back.from_value, back.to_value) == ("at_risk", "active")
    assert back.cause == "rules"


async def test_sql_agrees_with_classify_on_random_customers(session: AsyncSession) -> None:
    rng = random.Random(20261125)
    made = []
    for i in range(400):
        count = rng.choice([0, 1, 1, 2, 3, 5, 8, 13])
        last = AS_OF - timedelta(days=rng.randint(0, 400)) if count else None
        first = last - timedelta(days=rng.randint(0, 300)) if last else None
        gap = round(rng.uniform(1, 90), 2) if count >= 2 and rng.random() < 0.8 else None
        c = _customer(
            1000 + i,
            order_count=count,
            total_spend=Decimal(
                rng.choice([0, 300, 1499, 1500, 5000, 7999, 8000, 15000, 30000]) if count else 0
            ),
            first_order_date=first,
            last_order_date=last,
            avg_days_between_orders=gap,
            tier=rng.choice(["none", "silver", "gold", "permanent"]),
        )
        made.append(c)
    session.add_all(made)
    await session.commit()
    await refresh_segments(session, AS_OF, CFG)
    await session.commit()
    for c in made:
        await session.refresh(c)
        expected = classify(
            order_count=c.order_count,
            total_spend=c.total_spend,
            first_order_date=c.first_order_date,
            last_order_date=c.last_order_date,
            avg_gap=c.avg_days_between_orders,
            tier=c.tier,
            as_of=AS_OF,
            cfg=CFG,
        )
        assert (c.customer_type, c.lifecycle_stage, c.priority_level) == (
            expected.customer_type,
            expected.lifecycle_stage,
            expected.priority_level,
        ), c.phone


async def test_p_alive_makes_stage_graver_and_is_logged_as_model(session: AsyncSession) -> None:
    from core.models import CustomerPrediction, PredictionModel
    from core.predictions.config import PredictionsConfig

    pcfg = PredictionsConfig()

    class Cfg:
        segments = CFG
        predictions = pcfg

    active = dict(
        order_count=6,
        total_spend=Decimal(3000),
        avg_days_between_orders=20.0,
        first_order_date=date(2025, 10, 1),
        last_order_date=date(2026, 3, 25),
        # segmented before (as prospects): today's stages are changes, logged with their cause
        segments_as_of=AS_OF - timedelta(days=30),
    )
    a = _customer(1, **active)
    b = _customer(2, **active)
    c = _customer(3, **active)
    stale = _customer(4, **active)
    # never segmented: the first segmentation computes the same rule in place, model included
    fresh = _customer(5, **{**active, "segments_as_of": None})
    session.add_all([a, b, c, stale, fresh])
    model = PredictionModel(
        version="bgnbd-2026-03-30", fitted_on=date(2026, 3, 30), status="fitted"
    )
    session.add(model)
    await session.flush()
    for cust, p, day in (
        (a, 0.1, AS_OF),
        (b, 0.4, AS_OF),
        (c, 0.9, AS_OF),
        (stale, 0.05, date(2026, 3, 1)),
        (fresh, 0.4, AS_OF),
    ):
        session.add(
            CustomerPrediction(
                customer_id=cust.id,
                as_of=day,
                model_id=model.id,
                p_alive=p,
                expected_orders_30=0.1,
                expected_orders_90=0.3,
            )
        )
    await session.commit()
    counts = await refresh_segments(session, AS_OF, Cfg)
    await session.commit()
    for cust in (a, b, c, stale, fresh):
        await session.refresh(cust)
    assert [x.lifecycle_stage for x in (a, b, c, stale, fresh)] == [
        "churned",
        "at_risk",
        "active",
        "active",
        "at_risk",
    ]
    assert a.priority_level == "cold"
    assert (counts["lifecycle_stage_changed"], counts["first_segmented"]) == (4, 1)
    causes = dict(
        (
            await session.execute(
                select(SegmentTransition.customer_id, SegmentTransition.cause).where(
                    SegmentTransition.field == "lifecycle_stage"
                )
            )
        ).all()
    )
    assert causes == {a.id: "model", b.id: "model", c.id: "rules", stale.id: "rules"}
    for cust, p in ((a, 0.1), (b, 0.4), (c, 0.9), (fresh, 0.4)):
        expected = classify(
            order_count=cust.order_count,
            total_spend=cust.total_spend,
            first_order_date=cust.first_order_date,
            last_order_date=cust.last_order_date,
            avg_gap=cust.avg_days_between_orders,
            tier=cust.tier,
            as_of=AS_OF,
            cfg=CFG,
            p_alive=p,
            model_cfg=pcfg,
        )
        assert expected.lifecycle_stage == cust.lifecycle_stage


async def test_only_customers_whose_segments_change_are_written(session: AsyncSession) -> None:
    steady = _customer(
        7001,
        order_count=1,
        total_spend=Decimal(500),
        first_order_date=AS_OF - timedelta(days=3),
        last_order_date=AS_OF - timedelta(days=3),
    )
    session.add(steady)
    await session.commit()
    await refresh_segments(session, AS_OF, CFG)
    await session.commit()
    await session.refresh(steady)
    assert (steady.lifecycle_stage, steady.segments_as_of) == ("new", AS_OF)

    prospect = _customer(7002)  # already "new / prospect / warm": nothing to change
    session.add(prospect)
    await session.commit()
    counts = await refresh_segments(session, AS_OF + timedelta(days=1), CFG)
    await session.commit()
    await session.refresh(steady)
    await session.refresh(prospect)
    assert counts == {
        "customer_type_changed": 0,
        "lifecycle_stage_changed": 0,
        "priority_level_changed": 0,
        "first_segmented": 1,
    }
    # unchanged rows are not rewritten: segments_as_of is the day they last changed (or were
    # first segmented: the prospect, whose defaults were already right)
    assert (steady.segments_as_of, prospect.segments_as_of) == (AS_OF, AS_OF + timedelta(days=1))
    assert (await session.scalars(select(SegmentTransition))).all() == []

    # the prospect orders: a change from a state they were in, logged
    prospect.order_count, prospect.total_spend = 1, Decimal(700)
    prospect.first_order_date = prospect.last_order_date = AS_OF + timedelta(days=2)
    await session.commit()
    counts = await refresh_segments(session, AS_OF + timedelta(days=2), CFG)
    await session.commit()
    assert (counts["lifecycle_stage_changed"], counts["first_segmented"]) == (1, 0)
    logged = (await session.scalars(select(SegmentTransition))).all()
    assert [(t.customer_id, t.field, t.from_value, t.to_value) for t in logged] == [
        (prospect.id, "lifecycle_stage", "prospect", "new")
    ]


# what the daily steps rewrite in many customers at once (segments; membership's upgrades)
DAILY_COLUMNS = {*FIELDS, "segments_as_of", "tier", "tier_since"}


async def test_no_index_holds_what_the_daily_steps_rewrite(session: AsyncSession) -> None:
    """An index on a segment or tier column would turn each change into new index entries (and,
    on PostgreSQL, a new row version elsewhere instead of a heap-only one on the same page)."""
    indexes = await inspected(session, lambda i: i.get_indexes("customers"))
    assert {i["name"]: set(i["column_names"]) & DAILY_COLUMNS for i in indexes} == {
        i["name"]: set() for i in indexes
    }
    assert "ix_customers_last_order" in {i["name"] for i in indexes}  # the inspection sees them


async def test_segment_changes_stay_on_their_page_in_postgres(session: AsyncSession) -> None:
    if not is_postgres(session):
        pytest.skip("PostgreSQL only: SQLite has no row versions or fillfactor")
    options = await session.scalar(
        text("SELECT reloptions FROM pg_class WHERE relname = 'customers'")
    )
    assert options == ["fillfactor=50"]
    session.add_all(
        _customer(
            8000 + i,
            order_count=1,
            total_spend=Decimal(500),
            first_order_date=AS_OF - timedelta(days=80 + i),
            last_order_date=AS_OF - timedelta(days=80 + i),
        )
        for i in range(40)
    )
    await session.commit()
    counts = await refresh_segments(session, AS_OF, CFG)
    # this transaction's own statistics: every row written, each a heap-only update
    updated, hot = (
        await session.execute(
            text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
                " WHERE relname = 'customers'"
            )
        )
    ).one()
    await session.commit()
    assert counts["first_segmented"] == 40
    assert (updated, hot) == (40, 40)
