"""The reminder schedule on both databases: a day looked at INCREMENTALLY gives exactly what
looking at everyone (FULL) gives, over two months of new orders, cancellations, moved orders and
consent changes; replays and rule changes fall back to FULL."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core import reminder_schedule
from core.customers_aggregates import refresh_customer_aggregates
from core.db import make_engine, make_session_factory
from core.models import Customer, Message, Order, Product, Reminder, ReminderSchedule, Task
from core.reminders import reminders_step
from core.shopconfig.loader import ShopConfig
from tests.factories import (
    apply_shop_config,
    inspected,
    make_agent,
    make_customer,
    make_order,
    make_product,
    shop_config,
    utc,
)

START = date(2026, 3, 1)
DAYS = 60
CUSTOMERS = 30
# (category, pack size, unit, quantities bought): rice and oil substitute within their category
PRODUCTS = [
    ("rice", Decimal(5), "kg", [5, 10, 5, 2.5]),
    ("rice", Decimal(5), "kg", [5, 5, 10]),
    ("oil", Decimal(1), "l", [1, 2, 5]),
    ("spices", Decimal(200), "g", [200, 400, 100]),
    ("spices", Decimal(100), "g", [100, 200]),
    ("honey", Decimal(500), "g", [500, 1000]),
    ("sugar", Decimal(1), "kg", [1, 2]),
]


def config() -> ShopConfig:
    """The shipped rules with a short lookback, so purchases age out during the two months."""
    cfg = shop_config()
    return cfg.model_copy(
        update={"consumption": cfg.consumption.model_copy(update={"lookback_days": 75})}
    )


@dataclass
class Shop:
    products: list[Product]
    customers: list[Customer]
    orders: list[str]  # external ids, in creation order
    # regular buyers (customer index, product index, interval): a rhythm of their own, often far
    # from the profile's, so the learned rhythm moves due dates
    regulars: list[tuple[int, int, int]]


async def build(session: AsyncSession, cfg: ShopConfig, seed: int) -> Shop:
    """The same small shop in every database it is built in (same values, same ids)."""
    rng = random.Random(seed)
    await apply_shop_config(session, cfg)
    await make_agent(session, name="Agent", daily_capacity=5)
    products = [
        await make_product(
            session,
            category=cat,
            sku=f"P{i}",
            name=f"Product {i}",
            name_bn=f"পণ্য {i}",
            pack_size=pack,
            unit=unit,
        )
        for i, (cat, pack, unit, _) in enumerate(PRODUCTS)
    ]
    customers = []
    for i in range(CUSTOMERS):
        r = rng.random()
        customers.append(
            await make_customer(
                session,
                phone=f"+8801700{i:06d}",
                name=f"Customer {i}",
                priority_level=rng.choice(["hot", "warm", "warm", "cold"]),
                total_spend=Decimal(rng.randrange(500, 20000)),
                opted_out_at=utc(START - timedelta(days=5)) if r < 0.1 else None,
                marketing_consent=not 0.1 <= r < 0.2,
                phone_valid=not 0.2 <= r < 0.25,
            )
        )
    shop = Shop(products, customers, [], [])
    for i, c in enumerate(customers):
        for _ in range(rng.randint(1, 3)):
            p = rng.randrange(len(products))
            if rng.random() < 0.5:  # a regular: enough purchases for a learned rhythm
                interval = rng.randint(8, 45)
                shop.regulars.append((i, p, interval))
                day = START - timedelta(days=rng.randint(70, 110))
                while day <= START:
                    await _order(session, shop, rng, c, day, [p])
                    day += timedelta(days=interval + rng.randint(-2, 2))
            else:
                for _ in range(rng.randint(1, 2)):
                    day = START - timedelta(days=rng.randint(0, 80))
                    await _order(session, shop, rng, c, day, [p])
    await session.commit()
    return shop


async def _order(
    session: AsyncSession,
    shop: Shop,
    rng: random.Random,
    customer: Customer,
    day: date,
    picks: list[int],
) -> None:
    status = "delivered"
    if rng.random() < 0.08:
        status = rng.choice(["cancelled", "returned", "pending"])
    lines = [(shop.products[p], rng.choice(PRODUCTS[p][3])) for p in sorted(set(picks))]
    external_id = f"O{len(shop.orders)}"
    await make_order(session, customer, day, lines, external_id=external_id, status=status)
    shop.orders.append(external_id)


def events_of(rng: random.Random, day: date, shop: Shop) -> list[tuple[Any, ...]]:
    """A day's changes, as data, so both databases get the very same."""
    events: list[tuple[Any, ...]] = []
    for who, p, interval in shop.regulars:
        if rng.random() < 1 / interval:
            events.append(("order", who, day, [p], rng.random()))
    for _ in range(rng.choice([0, 0, 1, 2])):
        bought = day - timedelta(days=rng.choice([0, 0, 0, 1, 3]))
        picks = [rng.randrange(len(PRODUCTS)) for _ in range(rng.randint(1, 2))]
        events.append(("order", rng.randrange(CUSTOMERS), bought, picks, rng.random()))
    if rng.random() < 0.2:
        events.append(
            ("status", rng.randrange(len(shop.orders)), rng.choice(["cancelled", "returned"]))
        )
    if rng.random() < 0.25:  # a recent order moved to another customer
        recent = rng.randrange(max(0, len(shop.orders) - 5), len(shop.orders))
        events.append(("move", recent, rng.randrange(CUSTOMERS)))
    if rng.random() < 0.15:
        events.append(("opt", rng.randrange(CUSTOMERS)))
    if rng.random() < 0.1:
        events.append(("consent", rng.randrange(CUSTOMERS)))
    if rng.random() < 0.05:
        events.append(("phone", rng.randrange(CUSTOMERS)))
    return events


async def apply(session: AsyncSession, shop: Shop, day: date, event: tuple[Any, ...]) -> None:
    kind = event[0]
    ids = [c.id for c in shop.customers]
    if kind == "order":
        _, who, bought, picks, r = event
        customer = await session.get(Customer, ids[who])
        assert customer is not None
        await _order(session, shop, random.Random(r), customer, bought, picks)
    elif kind in ("status", "move"):
        order = await session.scalar(
            select(Order).where(Order.external_id == shop.orders[event[1]])
        )
        assert order is not None
        before = order.customer_id
        values = {"status": event[2]} if kind == "status" else {"customer_id": ids[event[2]]}
        await session.execute(update(Order).where(Order.id == order.id).values(**values))
        after = values.get("customer_id", before)
        await refresh_customer_aggregates(session, sorted({before, after}))
    else:
        customer = await session.get(Customer, ids[event[1]])
        assert customer is not None
        if kind == "opt":
            customer.opted_out_at = None if customer.opted_out_at else utc(day)
        elif kind == "consent":
            customer.marketing_consent = not customer.marketing_consent
        else:
            customer.phone_valid = not customer.phone_valid
    await session.flush()


def _plain(row: Any) -> tuple[Any, ...]:
    """A row's contents without its id, instants and coupon codes (random in each database)."""
    found = []
    for col in row.__table__.columns:
        value = getattr(row, col.key)
        if col.key == "id" or isinstance(value, datetime):
            continue
        if isinstance(value, dict) and "coupon" in value:
            value = {**value, "coupon": bool(value["coupon"])}
        found.append((col.key, value))
    return tuple(found)


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for model in (Reminder, Task, Message):
        rows = (await session.scalars(select(model).order_by(model.dedupe_key))).all()
        found[model.__tablename__] = [_plain(r) for r in rows]
    return found


Engines = Callable[[], Awaitable[AsyncEngine]]


@pytest.fixture
async def engines(new_database: Callable[[], Awaitable[str]]) -> Any:
    made: list[AsyncEngine] = []

    async def make() -> AsyncEngine:
        made.append(make_engine(await new_database()))
        return made[-1]

    yield make
    for eng in made:
        await eng.dispose()


@pytest.mark.parametrize("seed", [7, 23])
async def test_incremental_days_equal_full_days(
    engines: Engines, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    # the test's "imports" commit right after the step: no margin needed, and a margin here
    # would look at every customer of the last hours (everyone) and prove nothing
    monkeypatch.setattr(reminder_schedule, "WATERMARK_MARGIN", timedelta(0))
    cfg = config()
    factories = [make_session_factory(await engines()) for _ in range(2)]  # incremental, full
    shops = []
    for factory in factories:
        async with factory() as s:
            shops.append(await build(s, cfg, seed))
    rng = random.Random(seed * 1000)
    looked_at, incremental_days, produced = 0, 0, 0
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        events = events_of(rng, day, shops[0]) if offset else []
        results = []
        for copy, (factory, shop) in enumerate(zip(factories, shops, strict=True)):
            async with factory() as s:
                for event in events:
                    await apply(s, shop, day, event)
                await s.commit()
            async with factory() as s, s.begin():
                counts = await reminders_step(s, day, cfg, full=copy == 1)
            async with factory() as s:
                results.append((counts, await snapshot(s)))
        (inc, inc_rows), (full, full_rows) = results
        for table, rows in full_rows.items():
            missing = [r for r in rows if r not in inc_rows[table]]
            extra = [r for r in inc_rows[table] if r not in rows]
            assert not missing and not extra, f"{day} {table}: {missing=} {extra=}"
        assert full["full"] == 1
        for factory in factories:  # every check date lies ahead (or there is none)
            async with factory() as s:
                stale = select(func.count()).where(ReminderSchedule.next_check <= day)
                assert await s.scalar(stale) == 0
        if offset:
            assert inc["full"] == 0
            incremental_days += 1
            looked_at += inc["evaluated"]
        produced += full["reminded_lines"] + full["late_lines"]
    # not a vacuous comparison: reminders went out, and most days looked at few customers
    assert produced >= 30
    assert looked_at < 0.5 * CUSTOMERS * incremental_days
    async with factories[0]() as s:
        assert await s.scalar(select(ReminderSchedule.customer_id).limit(1)) is not None


async def test_replay_and_rule_change_look_at_everyone(engines: Engines) -> None:
    cfg = config()
    factory = make_session_factory(await engines())
    async with factory() as s:
        await build(s, cfg, 5)

    async def run(day: date, rules: ShopConfig) -> dict[str, int]:
        async with factory() as s, s.begin():
            return await reminders_step(s, day, rules)

    assert (await run(START, cfg))["full"] == 1  # no schedule yet
    assert (await run(START + timedelta(days=1), cfg))["full"] == 0
    assert (await run(START + timedelta(days=1), cfg))["full"] == 1  # the same date again
    assert (await run(START - timedelta(days=3), cfg))["full"] == 1  # an earlier date
    assert (await run(START + timedelta(days=2), cfg))["full"] == 0
    changed = cfg.model_copy(
        update={"consumption": cfg.consumption.model_copy(update={"basket_window_days": 4})}
    )
    assert (await run(START + timedelta(days=3), changed))["full"] == 1
    assert (await run(START + timedelta(days=4), changed))["full"] == 0


async def test_schedule_rows_name_customers_without_a_foreign_key(session: AsyncSession) -> None:
    """The schedule is a cache rewritten from a join with customers (every row on a FULL run):
    a foreign key would check each row and, on PostgreSQL, lock (write) its customer's row."""
    keys = await inspected(session, lambda i: i.get_foreign_keys("reminder_schedule"))
    assert keys == []
    indexed = await inspected(session, lambda i: i.get_pk_constraint("reminder_schedule"))
    assert indexed["constrained_columns"] == ["customer_id"]  # one row per customer still
