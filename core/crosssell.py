"""Cross-sell: IF a customer bought the trigger THEN, min..max days later, offer the recommendation.

A trigger order is offered while its window has just opened: days since the order within
[min_days_passed, min(max_days_passed, min_days_passed + crosssell.grace_days)], so the first run
on an old shop (or a day after an outage) does not offer every trigger of the last weeks, while a
late ERP import or a lower-priority rule that lost a day to the one-a-day limit still goes out.
One statement joins every active rule to the counted orders whose lines match its trigger
(product or category) within that window and minimum order value, and drops customers who
bought the recommendation within `crosssell.recent_purchase_days`. In Python: the latest trigger
order per (rule, customer), no rule offered to the same customer again within its window, and
at most `max_per_customer_per_day` offers per customer (highest priority first). Offers are
messages keyed `crosssell:{rule}:{customer}:{trigger_order}`; the weekly success rate counts the
offers followed by a purchase of the recommendation within the rule's success window.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, Integer, case, cast, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.channels import message_channel
from core.coupons import CouponRequest, issue_coupons
from core.models import (
    Category,
    CouponRule,
    Customer,
    Message,
    Order,
    OrderLine,
    Product,
    RecommendationRule,
)
from core.models.orders import COUNTED_STATUSES
from core.outbox import OutgoingMessage, queue_messages
from core.reminder_plan import Names
from core.reminder_query import days_since
from core.shopconfig.loader import ShopConfig


@dataclass(frozen=True)
class Offer:
    rule_key: str
    priority: int
    customer_id: int
    order_id: int
    order_date: date
    template: str
    channel: str
    coupon_rule: str | None
    trigger: tuple[str | None, str | None]  # (category code, product name_bn/name)
    offer: tuple[str | None, str | None]
    language: str
    priority_level: str
    whatsapp_status: str

    @property
    def key(self) -> str:
        return f"crosssell:{self.rule_key}:{self.customer_id}:{self.order_id}"


def pick_offers(
    offers: list[Offer],
    offered: dict[tuple[str, int], date],
    windows: dict[str, int],
    as_of: date,
    per_day: int,
) -> list[Offer]:
    """Latest trigger per (rule, customer); skip a rule offered to the customer within its
    window; keep the `per_day` highest-priority offers per customer, counting those already
    queued today (`offered` dates equal to as_of)."""
    today: dict[int, int] = defaultdict(int)
    for (_rule, cid), day in offered.items():
        if day == as_of:
            today[cid] += 1
    latest: dict[tuple[str, int], Offer] = {}
    for o in offers:
        k = (o.rule_key, o.customer_id)
        if k not in latest or (o.order_date, o.order_id) > (
            latest[k].order_date,
            latest[k].order_id,
        ):
            latest[k] = o
    by_customer: dict[int, list[Offer]] = defaultdict(list)
    for (rule, cid), o in latest.items():
        last = offered.get((rule, cid))
        if last is not None and (as_of - last).days < windows[rule]:
            continue
        by_customer[cid].append(o)
    chosen: list[Offer] = []
    for cid in sorted(by_customer):
        ranked = sorted(by_customer[cid], key=lambda o: (-o.priority, o.rule_key))
        chosen.extend(ranked[: max(0, per_day - today[cid])])
    return chosen


def _candidates(session: AsyncSession, as_of: date, cfg: ShopConfig) -> Any:
    r = RecommendationRule
    tp = aliased(Product)
    tc = aliased(Category)
    rp = aliased(Product)
    rc = aliased(Category)
    elapsed = days_since(session, as_of, Order.order_date)
    grace = cfg.crosssell.grace_days
    last_day = case(
        (r.max_days_passed < r.min_days_passed + grace, r.max_days_passed),
        else_=r.min_days_passed + grace,
    )
    o2, l2, p2 = aliased(Order), aliased(OrderLine), aliased(Product)
    recent = (
        select(l2.id)
        .join(o2, o2.id == l2.order_id)
        .join(p2, p2.id == l2.product_id)
        .where(
            o2.customer_id == Order.customer_id,
            o2.status.in_(COUNTED_STATUSES),
            o2.order_date > as_of - timedelta(days=cfg.crosssell.recent_purchase_days),
            o2.order_date <= as_of,
            or_(
                l2.product_id == r.recommended_product_id,
                p2.category_id == r.recommended_category_id,
            ),
        )
    )
    stmt = (
        select(
            r.key,
            r.priority,
            r.template_key,
            r.channel,
            CouponRule.key.label("coupon_rule"),
            Order.customer_id,
            Order.id.label("order_id"),
            Order.order_date,
            tc.code.label("trigger_category"),
            tp.name_bn.label("trigger_bn"),
            tp.name.label("trigger_en"),
            rc.code.label("offer_category"),
            rp.name_bn.label("offer_bn"),
            rp.name.label("offer_en"),
            Customer.language,
            Customer.priority_level,
            Customer.whatsapp_status,
        )
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(
            r,
            or_(
                r.trigger_product_id == OrderLine.product_id,
                r.trigger_category_id == Product.category_id,
            ),
        )
        .join(Customer, Customer.id == Order.customer_id)
        .outerjoin(CouponRule, CouponRule.id == r.coupon_rule_id)
        .outerjoin(tp, tp.id == r.trigger_product_id)
        .outerjoin(tc, tc.id == r.trigger_category_id)
        .outerjoin(rp, rp.id == r.recommended_product_id)
        .outerjoin(rc, rc.id == r.recommended_category_id)
        .where(
            r.active.is_(True),
            Order.status.in_(COUNTED_STATUSES),
            Order.order_date > as_of - timedelta(days=cfg_max_days(cfg) + 1),
            Order.order_date <= as_of - timedelta(days=cfg_min_days(cfg)),
            elapsed >= r.min_days_passed,
            elapsed <= last_day,
            Order.total >= r.min_order_value,
            Customer.opted_out_at.is_(None),
            Customer.phone_valid.is_(True),
            ~exists(recent),
        )
        .distinct()
    )
    if cfg.messaging.consent_policy == "erp_flag":
        stmt = stmt.where(Customer.marketing_consent.is_(True))
    return stmt


def cfg_max_days(cfg: ShopConfig) -> int:
    """The last day any rule still offers a trigger (bounds the scan of orders)."""
    grace = cfg.crosssell.grace_days
    return max(
        (min(r.max_days_passed, r.min_days_passed + grace) for r in cfg.crosssell.rules), default=0
    )


def cfg_min_days(cfg: ShopConfig) -> int:
    """The first day any rule offers a trigger (orders younger than that trigger nothing)."""
    return min((r.min_days_passed for r in cfg.crosssell.rules), default=0)


async def _offered(session: AsyncSession, as_of: date, days: int) -> dict[tuple[str, int], date]:
    """(rule, customer) → the latest day a cross-sell of that rule was queued, within `days`."""
    rows = await session.execute(
        select(Message.dedupe_key, Message.queued_on).where(
            Message.dedupe_key.like("crosssell:%"),
            Message.queued_on > as_of - timedelta(days=days),
        )
    )
    out: dict[tuple[str, int], date] = {}
    for key, day in rows.all():
        _, rule, cid, _order = key.split(":")
        k = (rule, int(cid))
        if k not in out or day > out[k]:
            out[k] = day
    return out


def _variables(o: Offer, names: Names, lang: str, coupon: str | None) -> dict[str, Any]:
    def short(pair: tuple[str | None, str | None], loc: bool = False) -> str:
        code, product = pair
        if code:
            if loc and lang == "bn":
                return names.bn_loc.get(code, code)
            return names.short(code, lang)
        return product or ""

    values: dict[str, Any] = {
        "trigger": short(o.trigger),
        "offer_loc": short(o.offer, loc=True),
        "offer": short(o.offer),
    }
    if coupon:
        values["coupon"] = coupon
    return values


async def crosssell_step(session: AsyncSession, as_of: date, cfg: ShopConfig) -> dict[str, int]:
    """Queue today's cross-sell offers (with coupons where the rule has one)."""
    rows = (await session.execute(_candidates(session, as_of, cfg))).all()
    offers = [
        Offer(
            r.key,
            r.priority,
            r.customer_id,
            r.order_id,
            r.order_date,
            r.template_key,
            r.channel,
            r.coupon_rule,
            (r.trigger_category, r.trigger_bn if r.language == "bn" else r.trigger_en),
            (r.offer_category, r.offer_bn if r.language == "bn" else r.offer_en),
            r.language if r.language in ("bn", "en") else "bn",
            r.priority_level,
            r.whatsapp_status,
        )
        for r in rows
    ]
    windows = {r.key: r.max_days_passed for r in cfg.crosssell.rules}
    offered = await _offered(session, as_of, max(windows.values(), default=1))
    chosen = pick_offers(offers, offered, windows, as_of, cfg.crosssell.max_per_customer_per_day)
    codes: dict[str, str] = {}
    for rule in sorted({o.coupon_rule for o in chosen if o.coupon_rule}):
        requests = [CouponRequest(o.key, o.customer_id) for o in chosen if o.coupon_rule == rule]
        codes.update(
            {k: c.code for k, c in (await issue_coupons(session, rule, requests, as_of)).items()}
        )
    names = Names.of(cfg)
    messages = []
    for o in chosen:
        tier = "cold" if o.priority_level == "cold" else "warm"
        channel = message_channel(tier, o.whatsapp_status)
        if channel is None:
            continue
        if o.channel == "sms":
            channel = "sms"
        messages.append(
            OutgoingMessage(
                dedupe_key=o.key,
                customer_id=o.customer_id,
                channel=channel,
                template_key=o.template,
                variables=_variables(o, names, o.language, codes.get(o.key)),
            )
        )
    queued = await queue_messages(session, messages, as_of, cfg.messaging)
    return {
        "candidates": len(offers),
        "offers": len(chosen),
        "coupons": len(codes),
        "messages": queued.queued,
        "deferred": queued.deferred,
    }


def _day_gap(session: AsyncSession, later: Any, earlier: Any) -> Any:
    assert session.bind is not None
    if session.bind.dialect.name == "postgresql":
        return later - earlier
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


async def recompute_success_rates(session: AsyncSession, as_of: date) -> dict[str, int]:
    """Each rule's success rate: offers (windows closed by as_of) followed by a purchase of the
    recommendation within `success_window_days`."""
    rules = (await session.scalars(select(RecommendationRule))).all()
    measured = 0
    for rule in rules:
        prefix = (
            f"crosssell:{rule.key}:".replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        gap = _day_gap(session, Order.order_date, Message.send_on)
        bought = (
            select(OrderLine.id)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(
                Order.customer_id == Message.customer_id,
                Order.status.in_(COUNTED_STATUSES),
                gap >= 0,
                gap <= rule.success_window_days,
                or_(
                    OrderLine.product_id == rule.recommended_product_id,
                    Product.category_id == rule.recommended_category_id,
                ),
            )
        )
        offers, converted = (
            await session.execute(
                select(
                    func.count(), func.coalesce(func.sum(case((exists(bought), 1), else_=0)), 0)
                ).where(
                    Message.dedupe_key.like(prefix + "%", escape="\\"),
                    Message.status != "cancelled",
                    Message.send_on
                    <= literal(as_of - timedelta(days=rule.success_window_days), Date),
                )
            )
        ).one()
        rate = (converted / offers) if offers else None
        await session.execute(
            update(RecommendationRule)
            .where(RecommendationRule.id == rule.id)
            .values(success_rate=rate, success_measured_on=as_of)
        )
        measured += 1 if offers else 0
    return {"rules": len(rules), "measured": measured}
