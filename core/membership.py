"""Membership: tier upgrades, tier cashback (core.cashback) on the wallet ledger, and birthday coupons.

Rules (SEED.md §7.1, `config/membership.yaml`):
- A customer reaches a tier by order count OR total spend of counted orders up to `as_of`
  (`tier_for`). Tiers only rise: the step never moves anyone down (Permanent is for life, and a
  returned order does not take Silver or Gold away either; a manager may lower a tier by hand).
- Cashback (core/cashback.py): each counted order placed on or after the day the customer first became a member
  earns the cashback_pct of the tier the customer holds when the step runs (the step credits
  before it upgrades, so yesterday's orders earn at the tier held when they were placed).
  Exactly once per order (`cashback:{order}`); a credited order later returned or cancelled is
  reversed exactly once (`cashback-reversal:{order}`).
- Birthday: Silver and above (tiers with `birthday_coupon`) get the `birthday` coupon on their
  birthday, once a year (29 February birthdays are kept on 28 February in other years).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    extract,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.cashback import credit_cashback, reverse_cashback
from core.clock import local_noon
from core.coupons import CouponRequest, issue_coupons
from core.digits import to_bangla_digits
from core.models import Coupon, Customer, Engagement, MembershipEvent, Order
from core.models.orders import COUNTED_STATUSES
from core.outbox import OutgoingMessage, queue_messages
from core.shopconfig import ShopConfig
from core.shopconfig.schema import MembershipConfig, TierDef
from core.sqlbulk import dialect_insert, insert_ignore, table_of
from core.tasks import NewTask, create_tasks, ids_by_key, task_priority
from core.texts import money

TIER_ORDER = ("none", "silver", "gold", "permanent")


def tier_rank(code: str) -> int:
    """Position of a tier code in none < silver < gold < permanent."""
    return TIER_ORDER.index(code)


def tier_for(order_count: int, total_spend: Decimal | float | int, tiers: Sequence[TierDef]) -> str:
    """The highest tier whose order count OR spend threshold is met ("none" below Silver)."""
    spend = Decimal(str(total_spend))
    reached = "none"
    for t in tiers:
        if order_count >= t.min_orders or spend >= t.min_spend:
            reached = t.code
    return reached


def upgrade_target(
    current: str, order_count: int, total_spend: Decimal, tiers: Sequence[TierDef]
) -> str | None:
    """The tier to move a customer up to, or None (never down, never sideways)."""
    target = tier_for(order_count, total_spend, tiers)
    return target if tier_rank(target) > tier_rank(current) else None


def discount_value(pct: Decimal | float | None) -> int | float | None:
    """A percentage as people write it: 5 rather than 5.00 (JSON-safe)."""
    if pct is None:
        return None
    value = Decimal(str(pct))
    return int(value) if value == value.to_integral_value() else float(value)


def _tier_case(count: Any, spend: Any, tiers: Sequence[TierDef]) -> Any:
    """SQL mirror of `tier_for` (used only to pre-select candidates; Python decides)."""
    whens = [
        (or_(count >= t.min_orders, spend >= t.min_spend), tier_rank(t.code))
        for t in reversed(tiers)
    ]
    return case(*whens, else_=0)


def _rank_case(col: Any) -> Any:
    return case({code: i for i, code in enumerate(TIER_ORDER)}, value=col, else_=0)


@dataclass(frozen=True)
class Upgrade:
    customer_id: int
    name: str
    priority_level: str
    from_tier: str
    to_tier: str
    order_count: int
    total_spend: Decimal
    last_order_date: date


async def find_upgrades(session: AsyncSession, as_of: date, cfg: MembershipConfig) -> list[Upgrade]:
    """Customers whose counted orders up to `as_of` reach a higher tier than they hold."""
    tiers = cfg.tiers
    # candidates from the CDM aggregates (kept by ingest), confirmed against orders up to as_of
    candidates = select(Customer.id).where(
        Customer.tier != "permanent",
        _tier_case(Customer.order_count, Customer.total_spend, tiers) > _rank_case(Customer.tier),
    )
    totals = (
        select(
            Order.customer_id.label("customer_id"),
            func.count().label("n"),
            func.coalesce(func.sum(Order.total), 0).label("spend"),
            func.max(Order.order_date).label("last_order_date"),
        )
        .where(
            Order.status.in_(COUNTED_STATUSES),
            Order.order_date <= as_of,
            Order.customer_id.in_(candidates),
        )
        .group_by(Order.customer_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Customer.id,
            Customer.name,
            Customer.priority_level,
            Customer.tier,
            totals.c.n,
            totals.c.spend,
            totals.c.last_order_date,
        )
        .join(totals, totals.c.customer_id == Customer.id)
        .order_by(Customer.id)
    )
    found = []
    for cid, name, level, tier, n, spend, last in rows.all():
        spend = Decimal(str(spend)).quantize(Decimal("0.01"))
        target = upgrade_target(tier, int(n), spend, tiers)
        if target is not None:
            found.append(Upgrade(cid, name, level, tier, target, int(n), spend, last))
    return found


def _reason(u: Upgrade, t: TierDef) -> tuple[str, str]:
    bn = (
        f"{t.name_bn} মেম্বার হয়েছেন ({u.order_count}টি অর্ডার, {money(u.total_spend, 'bn')})। "
        f"অভিনন্দন জানান, সুবিধা বলুন: {t.benefits_bn}"
    )
    en = (
        f"Became a {t.name} Member ({u.order_count} orders, {money(u.total_spend, 'en')}). "
        f"Congratulate and explain: {t.benefits_en}"
    )
    return to_bangla_digits(bn), en


async def apply_upgrades(
    session: AsyncSession, upgrades: Sequence[Upgrade], as_of: date, cfg: ShopConfig
) -> dict[str, int]:
    """Raise tiers and write each upgrade's event, engagement, message and tasks (once each)."""
    if not upgrades:
        return {"upgrades": 0, "upgrades_from_history": 0, "upgrade_messages": 0, "card_tasks": 0}
    recent = as_of - timedelta(days=cfg.membership.announce_within_days)
    announced = {u.customer_id for u in upgrades if u.last_order_date >= recent}
    by_code: dict[str, TierDef] = {t.code: t for t in cfg.membership.tiers}
    customers = table_of(Customer)
    await session.execute(
        customers.update()
        .where(customers.c.id == bindparam("b_id"))
        .values(tier=bindparam("b_tier"), tier_since=as_of),
        [{"b_id": u.customer_id, "b_tier": u.to_tier} for u in upgrades],
    )
    event_keys = {u.customer_id: f"membership:{u.customer_id}:{u.to_tier}" for u in upgrades}
    seen = await ids_by_key(session, MembershipEvent, event_keys.values())
    fresh = [u for u in upgrades if event_keys[u.customer_id] not in seen]
    await insert_ignore(
        session,
        MembershipEvent,
        [
            {
                "dedupe_key": event_keys[u.customer_id],
                "customer_id": u.customer_id,
                "from_tier": u.from_tier,
                "to_tier": u.to_tier,
                "event_date": as_of,
                "reason": f"{u.order_count} orders, spend {u.total_spend}"
                + ("" if u.customer_id in announced else " (from history, not announced)"),
            }
            for u in fresh
        ],
        ["dedupe_key"],
    )
    if fresh:
        await session.execute(
            dialect_insert(session, Engagement),
            [
                {
                    "customer_id": u.customer_id,
                    "kind": "membership",
                    "channel": "system",
                    "direction": "out",
                    "outcome": u.to_tier,
                    "body": f"tier {u.from_tier} → {u.to_tier}",
                    "occurred_at": local_noon(as_of),
                    "occurred_on": as_of,
                }
                for u in fresh
            ],
        )
    tasks: list[NewTask] = []
    for u in upgrades:
        t = by_code[u.to_tier]
        bn, en = _reason(u, t)
        common: dict[str, Any] = {
            "customer_id": u.customer_id,
            "due_date": as_of,
            "priority_level": u.priority_level,
            "priority": task_priority(u.priority_level, float(u.total_spend)),
            "reason_bn": bn,
            "reason_en": en,
            "suggestion": {
                "tier": t.code,
                "tier_name": t.name,
                "discount_pct": discount_value(t.discount_pct),
                "benefits_bn": t.benefits_bn,
                "benefits_en": t.benefits_en,
            },
        }
        if u.customer_id in announced:
            tasks.append(
                NewTask(
                    dedupe_key=f"membership_upgrade:{u.customer_id}:{u.to_tier}",
                    type="membership_upgrade",
                    script_key="script_membership_upgrade",
                    **common,
                )
            )
        if t.card:
            tasks.append(
                NewTask(
                    dedupe_key=f"card:{u.customer_id}:{u.to_tier}",
                    type="card_generation",
                    script_key="script_card_generation",
                    **common,
                )
            )
    task_ids = await create_tasks(session, tasks, as_of)
    purpose = cfg.templates.get("membership_upgrade").purpose
    queued = await queue_messages(
        session,
        [
            OutgoingMessage(
                dedupe_key=event_keys[u.customer_id],
                customer_id=u.customer_id,
                channel="whatsapp",
                template_key="membership_upgrade",
                variables={
                    "tier": by_code[u.to_tier].name,
                    "discount": discount_value(by_code[u.to_tier].discount_pct),
                },
                purpose="service" if purpose == "service" else "marketing",
                task_id=task_ids.get(f"membership_upgrade:{u.customer_id}:{u.to_tier}"),
            )
            for u in upgrades
            if u.customer_id in announced
        ],
        as_of,
        cfg.messaging,
    )
    return {
        "upgrades": len(fresh),
        "upgrades_from_history": sum(1 for u in fresh if u.customer_id not in announced),
        "upgrade_messages": queued.queued,
        "card_tasks": sum(1 for t in tasks if t.type == "card_generation"),
    }


def birthday_matches(birthday: date, as_of: date) -> bool:
    """Whether `as_of` is the birthday (29 February counts on 28 February in common years)."""
    if (birthday.month, birthday.day) == (as_of.month, as_of.day):
        return True
    return (
        (birthday.month, birthday.day) == (2, 29)
        and (as_of.month, as_of.day) == (2, 28)
        and not calendar.isleap(as_of.year)
    )


async def birthday_coupons(session: AsyncSession, as_of: date, cfg: ShopConfig) -> dict[str, int]:
    """Issue the birthday coupon (and its message) to members whose birthday is `as_of`."""
    tiers = [t.code for t in cfg.membership.tiers if t.birthday_coupon]
    if not tiers:
        return {"birthday_coupons": 0}
    on_day = and_(
        extract("month", Customer.birthday) == as_of.month,
        extract("day", Customer.birthday) == as_of.day,
    )
    if (as_of.month, as_of.day) == (2, 28) and not calendar.isleap(as_of.year):
        on_day = or_(
            on_day,
            and_(extract("month", Customer.birthday) == 2, extract("day", Customer.birthday) == 29),
        )
    rows = (
        await session.execute(
            select(Customer.id, Customer.name).where(
                Customer.birthday.is_not(None), Customer.tier.in_(tiers), on_day
            )
        )
    ).all()
    if not rows:
        return {"birthday_coupons": 0}
    keys = {cid: f"birthday:{cid}:{as_of.year}" for cid, _ in rows}
    before = await _coupon_keys(session, keys.values())
    issued = await issue_coupons(
        session, "birthday", [CouponRequest(keys[cid], cid) for cid, _ in rows], as_of
    )
    await queue_messages(
        session,
        [
            OutgoingMessage(
                dedupe_key=keys[cid],
                customer_id=cid,
                channel="whatsapp",
                template_key="birthday",
                variables={
                    "name": name or "",
                    "discount": discount_value(issued[keys[cid]].discount_pct),
                    "coupon": issued[keys[cid]].code,
                },
            )
            for cid, name in rows
        ],
        as_of,
        cfg.messaging,
    )
    return {"birthday_coupons": len(set(keys.values()) - before)}


async def _coupon_keys(session: AsyncSession, keys: Any) -> set[str]:
    return set(await ids_by_key(session, Coupon, keys))


async def membership_step(session: AsyncSession, as_of: date, cfg: ShopConfig) -> dict[str, int]:
    """The daily membership job: cashback, reversals, upgrades, birthday coupons."""
    credited = await credit_cashback(session, as_of, cfg.membership)
    reversed_ = await reverse_cashback(session, as_of)
    upgrades = await find_upgrades(session, as_of, cfg.membership)
    out = await apply_upgrades(session, upgrades, as_of, cfg)
    out.update(await birthday_coupons(session, as_of, cfg))
    out.update({"cashback_credited": credited, "cashback_reversed": reversed_})
    return out
