"""The demo shop generator on both databases: deterministic, valid, a year deep, staffed."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.demo import make_demo
from bot.runtime import Database
from bot.settings import get_settings
from core.clock import local_noon
from core.consumption import consumption_days, learned_days, purchase_intervals
from core.db import make_session_factory
from core.demo import generate_demo, shop_is_empty
from core.demo.stories import category_profile
from core.errors import Conflict
from core.models import (
    Agent,
    Category,
    ConsentEvent,
    Coupon,
    CouponRedemption,
    Customer,
    MembershipEvent,
    Order,
    OrderLine,
    Product,
    Reminder,
    WalletEntry,
)
from core.models.orders import COUNTED_STATUSES
from core.shopconfig import apply_config, load_config_dir

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 25)
SMALL = 200
DEMO_TABLES = (Reminder, WalletEntry, CouponRedemption, OrderLine, Order, MembershipEvent, ConsentEvent, Coupon,
               Customer, Agent, Product)  # fmt: skip


async def _apply(session: AsyncSession) -> None:
    async with session.begin():
        await apply_config(session, load_config_dir(ROOT / "config"))


async def _generate(session: AsyncSession, seed: int = 11, customers: int = SMALL):
    async with session.begin():
        return await generate_demo(session, customers=customers, seed=seed, as_of=AS_OF)


async def _digest(session: AsyncSession) -> str:
    """A hash of every row the demo wrote, table by table, in id order."""
    h = hashlib.sha256()
    async with session.begin():
        for model in reversed(DEMO_TABLES):
            table = model.__table__
            for row in (await session.execute(select(table).order_by(table.c.id))).all():
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


async def _wipe(session: AsyncSession) -> None:
    async with session.begin():
        for model in DEMO_TABLES:
            await session.execute(delete(model))


async def test_same_seed_and_date_give_identical_rows(session: AsyncSession) -> None:
    await _apply(session)
    await _generate(session, seed=11)
    first = await _digest(session)
    await _wipe(session)
    async with session.begin():
        assert await shop_is_empty(session)
    await _generate(session, seed=11)
    assert await _digest(session) == first
    await _wipe(session)
    await _generate(session, seed=12)
    assert await _digest(session) != first


async def test_demo_shop_is_valid_deep_and_staffed(session: AsyncSession) -> None:
    await _apply(session)
    summary = await _generate(session)

    phones = (await session.scalars(select(Customer.phone))).all()
    assert len(phones) == len(set(phones)) == SMALL == summary.customers
    for phone in phones:
        assert re.fullmatch(r"\+8801[3-9]\d{8}", phone), phone
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone)), phone

    first, last = (
        await session.execute(select(func.min(Order.order_date), func.max(Order.order_date)))
    ).one()
    assert (last - first).days >= 365 and last < AS_OF
    statuses = set((await session.scalars(select(Order.status).distinct())).all())
    assert {"delivered", "cancelled"} <= statuses

    bought = select(Category.code).join(Product).join(OrderLine).distinct()
    categories = set((await session.scalars(select(Category.code))).all())
    assert set((await session.scalars(bought)).all()) == categories
    assert len(categories) == 12
    assert summary.products == 40

    agents = (await session.scalars(select(Agent))).all()
    roles = [a.role for a in agents]
    assert {"admin", "manager", "support", "delivery"} <= set(roles)
    sales = [a for a in agents if a.role == "agent"]
    assert len(sales) == 5 and sum(a.senior for a in sales) == 2
    assert all(a.districts and a.daily_capacity > 0 for a in sales)
    assert all(a.telegram_user_id is None for a in agents)  # they join with invite codes

    counted = await session.scalar(
        select(func.sum(Order.total)).where(Order.status.in_(COUNTED_STATUSES))
    )
    assert summary.revenue == counted
    spend = await session.scalar(select(func.sum(Customer.total_spend)))
    assert spend == counted  # the aggregates were refreshed
    assert await session.scalar(select(func.count()).select_from(CouponRedemption)) > 0
    birthdays = (
        await session.scalars(select(Customer.birthday).where(Customer.tier != "none"))
    ).all()
    assert any(b and (b.month, b.day) == (AS_OF.month, AS_OF.day) for b in birthdays)
    assert sum(summary.tiers.values()) == SMALL and len(summary.tiers) >= 3

    # ids keep counting after the demo's explicit ones (PostgreSQL sequences were moved on)
    newcomer = Customer(phone="+8801999000111", name="After the demo")
    session.add(newcomer)
    await session.flush()
    session.add(
        Order(external_id="ERP-1", customer_id=newcomer.id, ordered_at=local_noon(AS_OF),
              order_date=AS_OF)
    )  # fmt: skip
    await session.flush()
    assert newcomer.id == SMALL + 1


async def test_stories_give_today_its_work(session: AsyncSession) -> None:
    await _apply(session)
    summary = await _generate(session)
    phones = dict(summary.samples)
    cfg = load_config_dir(ROOT / "config")

    # the learned rhythm puts the rice reminder on as_of, earlier than the profile would
    rhythm = await session.scalar(
        select(Customer).where(Customer.phone == phones["learned rhythm"])
    )
    dates = (
        await session.scalars(
            select(Order.order_date)
            .join(OrderLine)
            .join(Product)
            .where(Order.customer_id == rhythm.id, Product.sku == "RICE-MINIKET-5KG")
        )
    ).all()
    profile = category_profile(cfg, "rice")
    base = consumption_days(profile, 5000)
    days, label = learned_days(
        base, purchase_intervals(dates), cfg.consumption.learned_rhythm, profile.min_days,
        profile.max_days,
    )  # fmt: skip
    assert label == "high" and days < base
    assert max(dates) + timedelta(days=days - profile.buffer_days) == AS_OF
    # past runs reminded the earlier purchases; today's reminder is left for today's run
    sent = (await session.scalars(select(Reminder).where(Reminder.customer_id == rhythm.id))).all()
    assert sent and all(r.due_date < AS_OF and r.sent_on < AS_OF for r in sent)
    assert max(dates) not in {r.purchase_date for r in sent}

    upgrade = await session.scalar(
        select(Customer).where(Customer.phone == phones["gold upgrade today"])
    )
    assert upgrade.tier == "silver" and upgrade.order_count == 6
    assert upgrade.last_order_date == AS_OF - timedelta(days=1)
    for silent in (30, 60, 90):
        lapsed = await session.scalar(
            select(Customer).where(Customer.phone == phones[f"silent {silent} days (win-back)"])
        )
        assert lapsed.last_order_date == AS_OF - timedelta(days=silent)


async def test_if_empty_leaves_a_shop_with_customers_alone(engine: AsyncEngine) -> None:
    db = Database(engine, make_session_factory(engine))
    async with db.sessions() as session:
        await _apply(session)
    made = await make_demo(db, customers=50, seed=3, as_of=AS_OF, if_empty=True)
    assert made.generated and made.summary.customers == 50
    assert made.segmented and "active" in made.summary.segments["lifecycle_stage"]

    again = await make_demo(db, customers=80, seed=4, as_of=AS_OF, if_empty=True)
    assert not again.generated and again.summary.customers == 50
    assert again.summary.orders == made.summary.orders
    with pytest.raises(Conflict):
        await make_demo(db, customers=80, seed=4, as_of=AS_OF, if_empty=False)


def test_cli_if_empty_says_so_on_a_non_empty_shop(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CONFIG_DIR", str(ROOT / "config"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(app, ["config", "apply"])
        assert done.exit_code == 0, done.output
        args = ["demo", "--customers", "40", "--date", AS_OF.isoformat(), "--if-empty"]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        assert "Demo shop generated" in first.output
        assert "trustcart customer +8801" in first.output
        second = runner.invoke(app, ["demo", "--customers", "60", "--if-empty"])
        assert second.exit_code == 0, second.output
        assert "already has 40 customers" in second.output
        refused = runner.invoke(app, ["demo", "--customers", "60"])
        assert refused.exit_code == 1
    finally:
        get_settings.cache_clear()
