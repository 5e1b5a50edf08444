"""Win-back at 30/60/90 days inactive, relative to the customer's own rhythm, once per stage.

Stages come from the `winback` coupon rules (params.inactive_days, escalating discounts). A
customer with a known rhythm (order_count ≥ segments.rhythm_min_orders) who usually orders every
G days has their thresholds stretched by max(1, G / first stage): someone who orders every 45
days is not "30 days inactive" after 30 days. A stage fires when the customer CROSSES its
threshold: silent days within [threshold, threshold + coupons.winback_grace_days) (and before the
next threshold), so the first run on an old shop does not message everyone long past it; a
late import or an outage longer than the catch-up still gets it, once. Once per inactivity spell:
coupon, message and task share the key `winback:{stage}:{customer}:{last_order_date}`.
HOT / VIP / high-LTV customers also get a win-back call task.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.cadence_text import day_text
from core.channels import Contact, plan_contact
from core.coupons import CouponRequest, issue_coupons
from core.models import Coupon, Customer, Order, OrderLine, Product
from core.models.orders import COUNTED_STATUSES
from core.outbox import OutgoingMessage, queue_messages
from core.reminder_query import days_since
from core.shopconfig.loader import ShopConfig
from core.tasks import NewTask, create_tasks, ids_by_key, task_priority
from core.texts import render


@dataclass(frozen=True)
class Stage:
    inactive_days: int
    coupon_rule: str


def stages_of(cfg: ShopConfig) -> list[Stage]:
    """The win-back stages from the coupon rules, earliest first."""
    found = [
        Stage(int(r.params["inactive_days"]), r.key)
        for r in cfg.coupons.rules
        if r.kind == "winback" and "inactive_days" in r.params
    ]
    return sorted(found, key=lambda s: s.inactive_days)


def winback_thresholds(
    base_days: Sequence[int], avg_gap: float | None, order_count: int, min_orders: int
) -> list[int]:
    """Each stage's threshold for one customer: stretched by their rhythm, never shortened."""
    factor = 1.0
    if avg_gap and order_count >= min_orders and base_days:
        factor = max(1.0, avg_gap / base_days[0])
    return [math.ceil(b * factor) for b in base_days]


def winback_stage(inactive_days: int, thresholds: Sequence[int], grace_days: int) -> int | None:
    """Index of the stage whose threshold was crossed within `grace_days` (None otherwise)."""
    for i, start in enumerate(thresholds):
        end = start + grace_days
        if i + 1 < len(thresholds):
            end = min(end, thresholds[i + 1])
        if start <= inactive_days < end:
            return i
    return None


def winback_key(stage: Stage, customer_id: int, last_order_date: date) -> str:
    """The dedupe key of a stage in one inactivity spell."""
    return f"winback:{stage.inactive_days}:{customer_id}:{last_order_date.isoformat()}"


async def _top_products(
    session: AsyncSession, customer_ids: Sequence[int], as_of: date
) -> dict[int, dict[str, object]]:
    """Each customer's most-bought product (by number of orders) in the last year."""
    out: dict[int, dict[str, object]] = {}
    ids = list(customer_ids)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        counts = (
            select(
                Order.customer_id.label("customer_id"),
                OrderLine.product_id.label("product_id"),
                func.count().label("n"),
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                Order.customer_id.in_(chunk),
                Order.status.in_(COUNTED_STATUSES),
                Order.order_date > as_of - timedelta(days=365),
            )
            .group_by(Order.customer_id, OrderLine.product_id)
            .subquery()
        )
        rows = await session.execute(
            select(counts.c.customer_id, counts.c.n, Product.sku, Product.name, Product.name_bn)
            .join(Product, Product.id == counts.c.product_id)
            .order_by(counts.c.customer_id, counts.c.n.desc(), Product.sku)
        )
        for cid, _n, sku, name, name_bn in rows.all():
            out.setdefault(cid, {"sku": sku, "name": name, "name_bn": name_bn, "quantity": None})
    return out


def _candidates(session: AsyncSession, as_of: date, cfg: ShopConfig, base: list[int]) -> Any:
    """The columns the step needs, for customers near a stage's window today (a superset by a
    day each side: the exact window, with integer thresholds, is checked in Python).

    Without a rhythm (factor 1) a stage's window is a range of last order dates, compared as
    dates; only customers with a rhythm evaluate their stretched thresholds. Most customers
    ordered more than the first stage ago, so the cut-off is a day count, not a date: SQLite
    would otherwise walk `ix_customers_last_order` and look up nearly every row, several
    times slower than reading the table once.
    """
    grace = cfg.coupons.winback_grace_days
    elapsed = days_since(session, as_of, Customer.last_order_date)
    gap = Customer.avg_days_between_orders
    rhythm = and_(Customer.order_count >= cfg.segments.rhythm_min_orders, gap > base[0])
    factor = gap / float(base[0])
    plain = or_(
        *(
            Customer.last_order_date.between(
                as_of - timedelta(days=b + grace), as_of - timedelta(days=b)
            )
            for b in base
        )
    )
    stretched = and_(
        rhythm,
        or_(*(and_(b * factor < elapsed + 1, b * factor > elapsed - grace - 1) for b in base)),
    )
    near = or_(plain, stretched)
    stmt = select(
        Customer.id,
        Customer.last_order_date,
        Customer.avg_days_between_orders,
        Customer.order_count,
        Customer.priority_level,
        Customer.customer_type,
        Customer.total_spend,
        Customer.whatsapp_status,
    ).where(
        elapsed >= base[0],
        Customer.opted_out_at.is_(None),
        Customer.phone_valid.is_(True),
        near,
    )
    if cfg.messaging.consent_policy == "erp_flag":
        stmt = stmt.where(Customer.marketing_consent.is_(True))
    return stmt


async def winback_step(session: AsyncSession, as_of: date, cfg: ShopConfig) -> dict[str, int]:
    """Issue today's win-back coupons, messages and HOT/VIP call tasks, once per stage and spell."""
    stages = stages_of(cfg)
    if not stages:
        return {"candidates": 0, "coupons": 0, "tasks": 0, "messages": 0, "deferred": 0}
    base = [s.inactive_days for s in stages]
    grace = cfg.coupons.winback_grace_days
    rows = (await session.execute(_candidates(session, as_of, cfg, base))).all()
    due: list[tuple[Any, Stage]] = []
    for c in rows:
        thresholds = winback_thresholds(
            base, c.avg_days_between_orders, c.order_count, cfg.segments.rhythm_min_orders
        )
        index = winback_stage((as_of - c.last_order_date).days, thresholds, grace)
        if index is not None:
            due.append((c, stages[index]))

    keys = {c.id: winback_key(s, c.id, c.last_order_date) for c, s in due}
    issued_before = await ids_by_key(session, Coupon, keys.values())
    due = [(c, s) for c, s in due if keys[c.id] not in issued_before]
    coupons = {}
    for stage in stages:
        requests = [CouponRequest(keys[c.id], c.id) for c, s in due if s == stage]
        coupons.update(await issue_coupons(session, stage.coupon_rule, requests, as_of))

    plans = {
        c.id: plan_contact(
            Contact(
                c.priority_level,
                c.customer_type,
                Decimal(str(c.total_spend or 0)),
                c.whatsapp_status,
            ),
            cfg.segments,
        )
        for c, _ in due
    }
    callers = [(c, s) for c, s in due if plans[c.id].call]
    top = await _top_products(session, [c.id for c, _ in callers], as_of)
    reason = cfg.templates.get("reason_winback")
    tasks = []
    for c, stage in callers:
        code = coupons[keys[c.id]].code
        days = (as_of - c.last_order_date).days
        texts = {
            lang: render(
                getattr(reason, lang),
                {"days": days, "last": day_text(c.last_order_date, lang), "coupon": code},
                lang,
            )
            for lang in ("bn", "en")
        }
        product = top.get(c.id)
        tasks.append(
            NewTask(
                dedupe_key=keys[c.id],
                type="winback",
                customer_id=c.id,
                due_date=as_of,
                priority_level=c.priority_level,
                priority=task_priority(c.priority_level, float(c.total_spend or 0)),
                reason_bn=texts["bn"],
                reason_en=texts["en"],
                suggestion={
                    "products": [product] if product else [],
                    "offer_code": code,
                    "confidence": None,
                    "stage": stage.inactive_days,
                },
                script_key="script_winback",
            )
        )
    task_ids = await create_tasks(session, tasks, as_of)
    messages = [
        OutgoingMessage(
            dedupe_key=keys[c.id],
            customer_id=c.id,
            channel=plans[c.id].message_channel or "sms",
            template_key="winback",
            variables={"coupon": coupons[keys[c.id]].code},
            task_id=task_ids.get(keys[c.id]),
        )
        for c, _ in due
        if plans[c.id].message_channel is not None
    ]
    queued = await queue_messages(session, messages, as_of, cfg.messaging)
    by_stage = {f"stage_{s.inactive_days}": sum(1 for _, x in due if x == s) for s in stages}
    return {
        "candidates": len(due),
        **by_stage,
        "tasks": len(tasks),
        "messages": queued.queued,
        "deferred": queued.deferred,
    }
