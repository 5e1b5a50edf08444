"""The daily reminder step: due purchases → one basket reminder per customer, and late touches.

One SQL statement ranks every counted purchase line in the lookback window per (customer,
product) — or per (customer, category) for categories whose products substitute each other — so
only the latest purchase counts and a later one suppresses it. The same statement joins the
product's (else the category's) profile, computes consumption days with the integer formula of
core.consumption, and keeps only lines whose due date is near `as_of`. A second statement fetches
purchase dates for the few candidates with enough history for a learned rhythm. Everything after
that is pure: classify, group into baskets, choose channels, word tasks and messages.

Exactly once: each reminded line gets a `reminders` row (`reminder:{customer}:{product}:{line}`
for the due reminder, `reminder-late:…` for the late touch), and the step never reminds a line
that has one. A basket's task and message are keyed `reminder-basket:{customer}:{as_of}`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, Integer, and_, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.channels import Contact, contact_tier, pick_warm_calls, plan_contact, warm_call_budget
from core.consumption import learned_days, next_reminder_date, purchase_intervals
from core.coupons import CouponRequest, issue_coupons
from core.models import (
    Agent,
    Category,
    ConsumptionProfile,
    Customer,
    Order,
    OrderLine,
    Product,
    Reminder,
    Task,
)
from core.models.orders import COUNTED_STATUSES
from core.outbox import queue_messages
from core.reminder_plan import (
    Basket,
    DueItem,
    Names,
    Recipient,
    build_baskets,
    message_for,
    reminder_rows,
    task_for,
)
from core.shopconfig.loader import ShopConfig
from core.sqlbulk import insert_ignore
from core.tasks import create_tasks
from core.units import base_unit_of


def days_since(session: AsyncSession, as_of: date, column: Any) -> Any:
    """Whole days from a date column to `as_of`, in the session's dialect."""
    assert session.bind is not None
    if session.bind.dialect.name == "postgresql":
        return literal(as_of, Date) - column
    return cast(func.julianday(literal(as_of.isoformat())) - func.julianday(column), Integer)


def _milli(column: Any) -> Any:
    return cast(func.round(column * 1000), BigInteger)


async def _substitute_category_ids(session: AsyncSession, codes: Sequence[str]) -> list[int]:
    if not codes:
        return []
    return list((await session.scalars(select(Category.id).where(Category.code.in_(codes)))).all())


def _ranked_lines(as_of: date, lookback_days: int, substitutes: list[int]) -> Any:
    """Counted purchase lines in the lookback window, ranked newest first per purchase key."""
    pkey = (
        case(
            (Product.category_id.in_(substitutes), -Product.category_id), else_=OrderLine.product_id
        )
        if substitutes
        else OrderLine.product_id
    )
    partition = (Order.customer_id, pkey)
    return (
        select(
            Order.customer_id.label("customer_id"),
            pkey.label("pkey"),
            OrderLine.id.label("line_id"),
            OrderLine.product_id.label("product_id"),
            Product.category_id.label("category_id"),
            Order.order_date.label("order_date"),
            OrderLine.base_quantity.label("base_quantity"),
            func.row_number()
            .over(
                partition_by=partition,
                order_by=(Order.order_date.desc(), Order.id.desc(), OrderLine.id.desc()),
            )
            .label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status.in_(COUNTED_STATUSES),
            Order.order_date > as_of - timedelta(days=lookback_days),
            Order.order_date <= as_of,
        )
        .cte("ranked")
    )


def latest_purchases_query(
    session: AsyncSession,
    as_of: date,
    cfg: ShopConfig,
    substitutes: list[int],
    *,
    window_only: bool = True,
    ranked: Any = None,
) -> Any:
    """SELECT of each (customer, purchase key)'s latest line with its profile and consumption days.

    With `window_only` only lines that may be due, basket-able or late today are kept (for a
    learned rhythm the bound uses the profile's clamps), and lines already late-touched are left
    out. Customers who may not get marketing (opt-out, consent) are left out too.
    """
    cc = cfg.consumption
    if ranked is None:
        ranked = _ranked_lines(as_of, cc.lookback_days, substitutes)
    pp = aliased(ConsumptionProfile)
    cp = aliased(ConsumptionProfile)
    rd = aliased(Reminder)
    rl = aliased(Reminder)
    avg = func.coalesce(pp.avg_consumption_days, cp.avg_consumption_days)
    buffer = func.coalesce(pp.buffer_days, cp.buffer_days)
    low = func.coalesce(pp.min_days, cp.min_days)
    high = func.coalesce(pp.max_days, cp.max_days)
    ref = _milli(func.coalesce(pp.reference_quantity, cp.reference_quantity))
    raw = (2 * avg * _milli(ranked.c.base_quantity) + ref) // (2 * ref)
    days = case((raw < low, low), (raw > high, high), else_=raw)
    elapsed = days_since(session, as_of, ranked.c.order_date)
    stmt = (
        select(
            ranked.c.customer_id,
            ranked.c.pkey,
            ranked.c.line_id,
            ranked.c.product_id,
            ranked.c.order_date,
            ranked.c.base_quantity,
            ranked.c.n,
            days.label("days"),
            buffer.label("buffer_days"),
            low.label("min_days"),
            high.label("max_days"),
            (rd.id.is_not(None)).label("due_sent"),
            Product.sku,
            Product.name,
            Product.name_bn,
            Product.unit,
            Category.code.label("category"),
            Customer.priority_level,
            Customer.customer_type,
            Customer.total_spend,
            Customer.whatsapp_status,
            Customer.language,
            Customer.name.label("customer_name"),
        )
        .select_from(ranked)
        .join(Product, Product.id == ranked.c.product_id)
        .join(Category, Category.id == ranked.c.category_id)
        .join(Customer, Customer.id == ranked.c.customer_id)
        .outerjoin(pp, pp.product_id == ranked.c.product_id)
        .outerjoin(cp, cp.category_id == ranked.c.category_id)
        .outerjoin(rd, and_(rd.order_line_id == ranked.c.line_id, rd.kind == "due"))
        .where(ranked.c.rn == 1, avg.is_not(None))
    )
    if not window_only:
        return stmt
    learnable = ranked.c.n >= cc.learned_rhythm.min_purchases
    earliest = case((learnable, low), else_=days) - buffer
    latest = case((learnable, high), else_=days) - buffer
    stmt = stmt.outerjoin(rl, and_(rl.order_line_id == ranked.c.line_id, rl.kind == "late")).where(
        rl.id.is_(None),
        elapsed >= earliest - cc.basket_window_days,
        elapsed < latest + 2 * cc.late_touch_after_days,
        Customer.opted_out_at.is_(None),
        Customer.phone_valid.is_(True),
    )
    if cfg.messaging.consent_policy == "erp_flag":
        stmt = stmt.where(Customer.marketing_consent.is_(True))
    return stmt


async def _purchase_dates(
    session: AsyncSession, as_of: date, cfg: ShopConfig, substitutes: list[int]
) -> dict[tuple[int, int], list[date]]:
    """Distinct purchase dates of the candidates that have enough purchases to learn from."""
    ranked = _ranked_lines(as_of, cfg.consumption.lookback_days, substitutes)
    cands = latest_purchases_query(session, as_of, cfg, substitutes, ranked=ranked).subquery(
        "cands"
    )
    stmt = (
        select(ranked.c.customer_id, ranked.c.pkey, ranked.c.order_date)
        .join(
            cands,
            and_(cands.c.customer_id == ranked.c.customer_id, cands.c.pkey == ranked.c.pkey),
        )
        .where(cands.c.n >= cfg.consumption.learned_rhythm.min_purchases)
        .distinct()
    )
    dates: dict[tuple[int, int], list[date]] = defaultdict(list)
    for customer_id, pkey, day in (await session.execute(stmt)).all():
        dates[(customer_id, pkey)].append(day)
    return dates


async def due_items(
    session: AsyncSession, as_of: date, cfg: ShopConfig, *, window_only: bool = True
) -> tuple[list[DueItem], dict[int, Recipient]]:
    """Latest purchases near their reminder date (all latest purchases without `window_only`),
    with learned rhythms applied, and the customers they belong to."""
    cc = cfg.consumption
    substitutes = await _substitute_category_ids(session, cc.substitutes_within_category)
    stmt = latest_purchases_query(session, as_of, cfg, substitutes, window_only=window_only)
    rows = (await session.execute(stmt)).all()
    history: dict[tuple[int, int], list[date]] = {}
    if any(r.n >= cc.learned_rhythm.min_purchases for r in rows):
        history = await _purchase_dates(session, as_of, cfg, substitutes)
    items: list[DueItem] = []
    recipients: dict[int, Recipient] = {}
    for r in rows:
        days, confidence = int(r.days), "profile"
        dates = history.get((r.customer_id, r.pkey))
        if dates:
            days, confidence = learned_days(
                days, purchase_intervals(dates), cc.learned_rhythm, r.min_days, r.max_days
            )
        items.append(
            DueItem(
                customer_id=r.customer_id,
                product_id=r.product_id,
                order_line_id=r.line_id,
                sku=r.sku,
                name=r.name,
                name_bn=r.name_bn,
                category=r.category,
                purchase_date=r.order_date,
                base_quantity=Decimal(str(r.base_quantity)),
                base_unit=base_unit_of(r.unit),
                consumption_days=days,
                buffer_days=int(r.buffer_days),
                due_date=next_reminder_date(r.order_date, days, int(r.buffer_days)),
                confidence=confidence,
                due_sent=bool(r.due_sent),
            )
        )
        if r.customer_id not in recipients:
            recipients[r.customer_id] = Recipient(
                r.customer_id,
                r.customer_name,
                r.language,
                r.priority_level,
                r.customer_type,
                Decimal(str(r.total_spend or 0)),
                r.whatsapp_status,
            )
    return items, recipients


async def team_load(session: AsyncSession, as_of: date) -> tuple[int, int]:
    """(daily capacity of active agents, open tasks due by as_of) for the WARM call budget."""
    capacity = await session.scalar(
        select(func.coalesce(func.sum(Agent.daily_capacity), 0)).where(
            Agent.active.is_(True), Agent.role == "agent"
        )
    )
    open_due = await session.scalar(
        select(func.count()).where(Task.status == "open", Task.due_date <= as_of)
    )
    return int(capacity or 0), int(open_due or 0)


async def plan_channels(
    session: AsyncSession, baskets: list[Basket], as_of: date, cfg: ShopConfig
) -> None:
    """Set each basket's channel plan; WARM calls only within the team's spare capacity."""
    contacts = {
        b.key: Contact(
            b.recipient.priority_level,
            b.recipient.customer_type,
            b.recipient.total_spend,
            b.recipient.whatsapp_status,
        )
        for b in baskets
    }
    tiers = {k: contact_tier(c, cfg.segments) for k, c in contacts.items()}
    capacity, open_due = await team_load(session, as_of)
    hot_calls = sum(1 for t in tiers.values() if t == "hot")
    budget = warm_call_budget(capacity, open_due, hot_calls, cfg.team.warm_call_spare_capacity_pct)
    warm = [(b.key, float(b.recipient.total_spend)) for b in baskets if tiers[b.key] == "warm"]
    calls = pick_warm_calls(warm, budget)
    for b in baskets:
        b.plan = plan_contact(contacts[b.key], cfg.segments, warm_call=b.key in calls)


async def reminders_step(session: AsyncSession, as_of: date, cfg: ShopConfig) -> dict[str, int]:
    """Create today's reminder tasks, messages and late touches, once per purchase line."""
    cc = cfg.consumption
    items, recipients = await due_items(session, as_of, cfg)
    baskets = build_baskets(
        items, recipients, as_of, cc.late_touch_after_days, cc.basket_window_days
    )
    await plan_channels(session, baskets, as_of, cfg)
    names = Names.of(cfg)

    offers = [b for b in baskets if b.kind == "due" and b.plan and b.plan.winback_offer]
    if offers and cc.cold_offer_coupon:
        requests = [
            CouponRequest(
                f"reminder-offer:{b.recipient.customer_id}:{as_of.isoformat()}",
                b.recipient.customer_id,
            )
            for b in offers
        ]
        issued = await issue_coupons(session, cc.cold_offer_coupon, requests, as_of)
        for b, req in zip(offers, requests, strict=True):
            b.coupon = issued[req.dedupe_key].code

    calls = [b for b in baskets if b.plan and b.plan.call]
    task_ids = await create_tasks(session, [task_for(b, as_of, cfg, names) for b in calls], as_of)
    for b in calls:
        b.task_id = task_ids[b.key]
    messages = [m for b in baskets if (m := message_for(b, names)) is not None]
    queued = await queue_messages(session, messages, as_of, cfg.messaging)
    rows = [row for b in baskets for row in reminder_rows(b, as_of)]
    recorded = await insert_ignore(session, Reminder, rows, ["dedupe_key"])
    return {
        "reminded_lines": sum(len(b.items) for b in baskets if b.kind == "due"),
        "late_lines": sum(len(b.items) for b in baskets if b.kind == "late"),
        "baskets": sum(1 for b in baskets if b.kind == "due"),
        "late_touches": sum(1 for b in baskets if b.kind == "late"),
        "recorded": recorded,
        "tasks": len(calls),
        "messages": queued.queued,
        "deferred": queued.deferred,
        "skipped": sum(queued.skipped.values()),
        "coupons": len(offers) if cc.cold_offer_coupon else 0,
    }
