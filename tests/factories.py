"""Small factory functions for database tests: keyword overrides, flushed rows, real config.

Append new factories at the end; keep the existing signatures.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.engine import Inspector
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_date
from core.customers_aggregates import refresh_customer_aggregates
from core.models import (
    Agent,
    Campaign,
    CampaignMember,
    Category,
    Coupon,
    CouponRedemption,
    CouponRule,
    Customer,
    Engagement,
    Message,
    Order,
    OrderLine,
    Product,
    Task,
)
from core.shopconfig import ShopConfig, apply_config, load_config_dir
from core.tasks import task_priority
from core.units import to_base

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
_seq = itertools.count(1)


def shop_config() -> ShopConfig:
    """The shipped config/ directory, validated."""
    return load_config_dir(CONFIG_DIR)


async def apply_shop_config(session: AsyncSession, cfg: ShopConfig | None = None) -> ShopConfig:
    """Apply the real config (or a variant of it) to the database; returns it."""
    cfg = cfg or shop_config()
    await apply_config(session, cfg)
    await session.flush()
    return cfg


async def make_product(session: AsyncSession, **kw: Any) -> Product:
    """A product; `category` is a category code of the applied config (default rice, 5 kg)."""
    n = next(_seq)
    code = kw.pop("category", "rice")
    category_id = await session.scalar(select(Category.id).where(Category.code == code))
    assert category_id is not None, f"category {code!r}: apply the config first"
    values: dict[str, Any] = {
        "sku": f"SKU-{n}",
        "name": f"Product {n}",
        "name_bn": f"পণ্য {n}",
        "category_id": category_id,
        "pack_size": Decimal(5),
        "unit": "kg",
        "price": Decimal(450),
    }
    values.update(kw)
    product = Product(**values)
    session.add(product)
    await session.flush()
    return product


async def make_customer(session: AsyncSession, **kw: Any) -> Customer:
    """A customer with a unique phone; CDM fields may be overridden (segments, spend…)."""
    n = next(_seq)
    values: dict[str, Any] = {
        "phone": f"+88017{n:08d}",
        "name": f"Customer {n}",
        "whatsapp_status": "yes",
        "marketing_consent": True,
        "priority_level": "warm",
        "customer_type": "repeat",
        "lifecycle_stage": "active",
    }
    values.update(kw)
    customer = Customer(**values)
    session.add(customer)
    await session.flush()
    return customer


async def make_order(
    session: AsyncSession,
    customer: Customer,
    order_date: date,
    lines: Sequence[tuple[Product, Decimal | int | float]],
    **kw: Any,
) -> Order:
    """An order with lines (product, quantity in the product's unit); refreshes the customer's
    aggregates unless `refresh=False`."""
    n = next(_seq)
    refresh = kw.pop("refresh", True)
    total = sum((Decimal(str(q)) / p.pack_size * p.price for p, q in lines), Decimal(0))
    values: dict[str, Any] = {
        "external_id": f"ORD-{n}",
        "customer_id": customer.id,
        "ordered_at": datetime.combine(order_date, time(5, 0), tzinfo=UTC),
        "order_date": order_date,
        "status": "delivered",
        "total": total.quantize(Decimal("0.01")),
    }
    values.update(kw)
    order = Order(**values)
    session.add(order)
    await session.flush()
    for i, (product, quantity) in enumerate(lines, start=1):
        qty = Decimal(str(quantity))
        base, _ = to_base(qty, product.unit, product.pack_size, product.unit)
        session.add(
            OrderLine(
                order_id=order.id,
                line_no=i,
                product_id=product.id,
                quantity=qty,
                unit=product.unit,
                base_quantity=base,
                unit_price=product.price,
                amount=(qty / product.pack_size * product.price).quantize(Decimal("0.01")),
            )
        )
    await session.flush()
    if refresh:
        await refresh_customer_aggregates(session, [customer.id])
        await session.refresh(customer)
    return order


async def make_agent(session: AsyncSession, **kw: Any) -> Agent:
    """An active tele-sales agent (capacity 40 unless overridden)."""
    n = next(_seq)
    values: dict[str, Any] = {"name": f"Agent {n}", "role": "agent", "daily_capacity": 40}
    values.update(kw)
    agent = Agent(**values)
    session.add(agent)
    await session.flush()
    return agent


def utc(day: date, hour: int = 6) -> datetime:
    """An aware UTC instant on a date (for opted_out_at and the like)."""
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


async def make_task(session: AsyncSession, **overrides: Any) -> Task:
    """An open reminder call due today (pass customer_id, agent_id, due_date as needed)."""
    n = next(_seq)
    level = overrides.get("priority_level", "warm")
    due = overrides.get("due_date", date(2026, 3, 10))
    values: dict[str, Any] = {
        "dedupe_key": f"test:{n}",
        "type": "reminder_call",
        "status": "open",
        "priority_level": level,
        "priority": task_priority(level, 0),
        "created_on": due,
        "due_date": due,
        "reason_bn": "চাল প্রায় শেষ হওয়ার কথা",
        "reason_en": "Rice should be running out",
        "suggestion": {},
        "script_key": "script_reminder_call",
        "created_at": datetime(2026, 3, 1, tzinfo=UTC),
    }
    values.update(overrides)
    task = Task(**values)
    session.add(task)
    await session.flush()
    return task


async def make_engagement(session: AsyncSession, customer_id: int, **kw: Any) -> Engagement:
    """A call outcome by default; `occurred_on` defaults to the shop-local date of `occurred_at`."""
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": "call",
        "channel": "call",
        "direction": "out",
        "occurred_at": datetime(2026, 3, 10, 6, 0, tzinfo=UTC),
    }
    values.update(kw)
    values.setdefault("occurred_on", local_date(values["occurred_at"]))
    engagement = Engagement(**values)
    session.add(engagement)
    await session.flush()
    return engagement


async def make_message(session: AsyncSession, customer_id: int, **kw: Any) -> Message:
    """A queued WhatsApp marketing message; set status and the *_at instants as needed."""
    n = next(_seq)
    queued_on = kw.get("queued_on", date(2026, 3, 10))
    values: dict[str, Any] = {
        "dedupe_key": f"test-msg:{n}",
        "customer_id": customer_id,
        "channel": "whatsapp",
        "purpose": "marketing",
        "template_key": "reminder",
        "variables": {},
        "status": "queued",
        "queued_on": queued_on,
        "send_on": queued_on,
    }
    values.update(kw)
    message = Message(**values)
    session.add(message)
    await session.flush()
    return message


async def make_campaign(session: AsyncSession, **kw: Any) -> Campaign:
    """A launched campaign for March 2026 (override key, dates, status…)."""
    n = next(_seq)
    values: dict[str, Any] = {
        "key": f"campaign-{n}",
        "month": 3,
        "name": f"Campaign {n}",
        "template_key": "campaign_offer",
        "start_date": date(2026, 3, 1),
        "end_date": date(2026, 3, 31),
        "primary_kpi": "conversion",
        "status": "launched",
    }
    values.update(kw)
    campaign = Campaign(**values)
    session.add(campaign)
    await session.flush()
    return campaign


async def make_campaign_member(
    session: AsyncSession, campaign_id: int, customer_id: int, **kw: Any
) -> CampaignMember:
    """A targeted member (holdout=True keeps them back)."""
    member = CampaignMember(campaign_id=campaign_id, customer_id=customer_id, **kw)
    session.add(member)
    await session.flush()
    return member


async def make_coupon_rule(session: AsyncSession, **kw: Any) -> CouponRule:
    """A 10 % campaign coupon rule."""
    n = next(_seq)
    values: dict[str, Any] = {
        "key": f"rule-{n}",
        "kind": "campaign",
        "code_prefix": f"R{n}",
        "discount_pct": Decimal(10),
    }
    values.update(kw)
    rule = CouponRule(**values)
    session.add(rule)
    await session.flush()
    return rule


async def make_coupon(session: AsyncSession, rule_id: int, **kw: Any) -> Coupon:
    """A coupon issued on 2026-03-01, valid 30 days."""
    n = next(_seq)
    issued = kw.get("issued_on", date(2026, 3, 1))
    values: dict[str, Any] = {
        "code": f"TEST{n}",
        "dedupe_key": f"test-coupon:{n}",
        "rule_id": rule_id,
        "issued_on": issued,
        "valid_from": issued,
        "valid_until": date.fromordinal(issued.toordinal() + 30),
    }
    values.update(kw)
    coupon = Coupon(**values)
    session.add(coupon)
    await session.flush()
    return coupon


async def make_redemption(
    session: AsyncSession, coupon_id: int, order: Order, **kw: Any
) -> CouponRedemption:
    """The coupon used on an order (redeemed on the order's date unless overridden)."""
    values: dict[str, Any] = {
        "coupon_id": coupon_id,
        "order_id": order.id,
        "redeemed_on": order.order_date,
    }
    values.update(kw)
    redemption = CouponRedemption(**values)
    session.add(redemption)
    await session.flush()
    return redemption


T = TypeVar("T")


async def inspected(session: AsyncSession, read: Callable[[Inspector], T]) -> T:
    """What the schema inspector says of the session's database, e.g.
    `await inspected(session, lambda i: i.get_indexes("customers"))`."""
    return await session.run_sync(lambda s: read(inspect(s.connection())))  # type: ignore[no-untyped-call]
