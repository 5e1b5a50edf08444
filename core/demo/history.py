"""What the shop's own cadence would have left behind: coupons issued and used, tiers reached.

The demo writes the state as of yesterday's morning run: coupons and tier upgrades caused by
orders up to `cutoff` (two days before as_of). Orders placed yesterday are left for today's
cadence, so the first `trustcart daily` has welcome coupons and upgrades of its own to do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from core.demo.catalog import PRODUCTS
from core.models.orders import COUNTED_STATUSES
from core.shopconfig.loader import ShopConfig

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as core.coupons: nothing to misread on a call
REDEEM_ODDS = {"welcome": 0.45, "repeat": 0.3}
CENT = Decimal("0.01")


@dataclass
class DemoCoupon:
    customer: int
    rule_key: str
    code: str
    dedupe_key: str  # with "{customer}" standing for the customer's id
    issued_on: date
    valid_until: date
    used: bool = False


@dataclass
class DemoOrder:
    customer: int
    ordered_at: datetime
    order_date: date
    status: str
    lines: tuple[tuple[int, int], ...]  # (product index, packs)
    coupon: DemoCoupon | None = None
    total: Decimal = field(default=Decimal(0))

    @property
    def subtotal(self) -> Decimal:
        return sum((PRODUCTS[p].price * n for p, n in self.lines), Decimal(0))

    @property
    def counted(self) -> bool:
        return self.status in COUNTED_STATUSES


@dataclass(frozen=True)
class TierEvent:
    customer: int
    from_tier: str
    to_tier: str
    event_date: date
    reason: str


def coupon_code(rng: random.Random, prefix: str, taken: set[str]) -> str:
    """A unique coupon code in the shop's format, e.g. WELCOME-7KQ2MX (drawn from the seed)."""
    while True:
        code = f"{prefix}-" + "".join(rng.choice(CODE_ALPHABET) for _ in range(6))
        if code not in taken:
            taken.add(code)
            return code


def issue_coupons(
    rng: random.Random,
    customer: int,
    orders: list[DemoOrder],
    cfg: ShopConfig,
    cutoff: date,
    taken: set[str],
) -> list[DemoCoupon]:
    """Welcome and repeat coupons after a customer's 1st, 2nd and 3rd orders, some redeemed."""
    rules = {r.kind if r.kind == "welcome" else f"repeat_{r.params.get('after_order')}": r
             for r in cfg.coupons.rules if r.kind in ("welcome", "repeat")}  # fmt: skip
    counted = [o for o in orders if o.counted]
    issued: list[DemoCoupon] = []
    for n, order in enumerate(counted[:3], start=1):
        key = "welcome" if n == 1 else f"repeat_{n}"
        rule = rules.get(key)
        if rule is None or order.order_date > cutoff:
            continue
        dedupe = f"{rule.key}:{{customer}}"  # as core.couponing keys them
        coupon = DemoCoupon(
            customer,
            rule.key,
            coupon_code(rng, rule.code_prefix, taken),
            dedupe,
            order.order_date,
            order.order_date + timedelta(days=rule.valid_days - 1),
        )
        issued.append(coupon)
        after = counted[n] if n < len(counted) else None
        odds = REDEEM_ODDS["welcome" if n == 1 else "repeat"]
        if (
            after is not None
            and after.order_date <= coupon.valid_until
            and after.subtotal >= rule.min_order_value
            and rng.random() < odds
        ):
            coupon.used = True
            after.coupon = coupon
    for order in orders:
        order.total = _total(order, cfg)
    return issued


def _total(order: DemoOrder, cfg: ShopConfig) -> Decimal:
    subtotal = order.subtotal
    if order.coupon is None:
        return subtotal
    rule = next(r for r in cfg.coupons.rules if r.key == order.coupon.rule_key)
    if rule.discount_pct is not None:
        discount = (subtotal * rule.discount_pct / 100).quantize(CENT, ROUND_HALF_UP)
    else:
        discount = rule.discount_amount or Decimal(0)
    return max(Decimal(0), subtotal - discount)


def tier_history(
    customer: int, orders: list[DemoOrder], cfg: ShopConfig, cutoff: date
) -> list[TierEvent]:
    """The tier upgrades the daily job made, each the morning after the order that earned it."""
    tiers = cfg.membership.tiers
    events: list[TierEvent] = []
    current, count, spend = "none", 0, Decimal(0)
    for order in orders:
        if not order.counted or order.order_date > cutoff:
            continue
        count += 1
        spend += order.total
        reached = current
        for tier in tiers:
            if count >= tier.min_orders or spend >= tier.min_spend:
                reached = tier.code
        if reached != current and _rank(cfg, reached) > _rank(cfg, current):
            reason = f"{count} orders, ৳{spend:,.0f} spent"
            events.append(
                TierEvent(customer, current, reached, order.order_date + timedelta(days=1), reason)
            )
            current = reached
    return events


@dataclass(frozen=True)
class Cashback:
    order: DemoOrder
    amount: Decimal
    entry_date: date
    tier: str


def cashback_history(
    orders: list[DemoOrder], events: list[TierEvent], cfg: ShopConfig, cutoff: date
) -> list[Cashback]:
    """Tier cashback credited the morning after each counted order of a member."""
    pct: dict[str, Decimal] = {t.code: t.cashback_pct for t in cfg.membership.tiers}
    credits = []
    for order in orders:
        if not order.counted or order.order_date > cutoff or order.total <= 0:
            continue
        tier = "none"
        for event in events:
            if event.event_date <= order.order_date:
                tier = event.to_tier
        if pct.get(tier, 0) > 0:
            amount = (order.total * pct[tier] / 100).quantize(CENT, ROUND_HALF_UP)
            credits.append(Cashback(order, amount, order.order_date + timedelta(days=1), tier))
    return credits


def _rank(cfg: ShopConfig, code: str) -> int:
    codes = ["none", *(t.code for t in cfg.membership.tiers)]
    return codes.index(code)
