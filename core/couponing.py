"""Coupons the orders earn (welcome, repeat, referral) and redemptions of coupon codes on orders.

- Welcome: after the customer's first counted order, a coupon for the second (rule kind welcome).
- Repeat: after the Nth order (rules of kind repeat, `params.after_order`: 2 and 3).
- Referral: when a referred customer's (`customers.referred_by_id`) first order arrives, the
  referrer's wallet is credited `coupons.referral_reward_amount` once (`referral:{referee}`) and
  told so. A first order that carries another customer's referral coupon records that customer
  as the referrer when none was known.
- Redemptions: an order carrying the code of an existing coupon, within its validity, under its
  usage limit, from its owner (referral codes may be shared) and above the rule's minimum,
  is recorded once (`coupon_redemptions.order_id` is unique); other codes are reported.

Only orders dated within `coupons.lookback_days` of the run are looked at, so that a first run
over years of history neither floods old customers with coupons nor rewrites the past.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.coupons import CouponRequest, issue_coupons
from core.membership import discount_value
from core.models import Coupon, CouponRedemption, CouponRule, Customer, Order, WalletEntry
from core.models.orders import COUNTED_STATUSES
from core.outbox import OutgoingMessage, queue_messages
from core.shopconfig import ShopConfig
from core.sqlbulk import insert_ignore, table_of
from core.tasks import ids_by_key

TEMPLATE_FOR_KIND = {"welcome": "welcome_coupon", "repeat": "repeat_coupon"}
_counted = Order.status.in_(COUNTED_STATUSES)


def after_order(kind: str, params: dict[str, object]) -> int | None:
    """After which order a rule's coupon is issued (welcome: 1; repeat: params.after_order)."""
    if kind == "welcome":
        return int(str(params.get("after_order", 1)))
    if kind == "repeat" and "after_order" in params:
        return int(str(params["after_order"]))
    return None


async def issue_order_coupons(session: AsyncSession, as_of: date, cfg: ShopConfig) -> int:
    """Welcome and repeat coupons for customers whose Nth order arrived recently; new count."""
    rules = {
        r.key: (n, r.kind)
        for r in cfg.coupons.rules
        if (n := after_order(r.kind, r.params)) is not None
    }
    if not rules:
        return 0
    since = as_of - timedelta(days=cfg.coupons.lookback_days)
    recent = select(Order.customer_id).where(
        _counted, Order.order_date >= since, Order.order_date <= as_of
    )
    count = func.count()
    rows = (
        await session.execute(
            select(Order.customer_id, count)
            .where(_counted, Order.order_date <= as_of, Order.customer_id.in_(recent))
            .group_by(Order.customer_id)
            .having(
                count.in_(sorted({n for n, _ in rules.values()})),
                func.max(Order.order_date) >= since,
            )
            .order_by(Order.customer_id)
        )
    ).all()
    new = 0
    for key, (n, kind) in rules.items():
        who = [cid for cid, orders in rows if orders == n]
        if not who:
            continue
        keys = {cid: f"{key}:{cid}" for cid in who}
        before = set(await ids_by_key(session, Coupon, keys.values()))
        issued = await issue_coupons(
            session, key, [CouponRequest(keys[cid], cid) for cid in who], as_of
        )
        new += len(set(keys.values()) - before)
        await queue_messages(
            session,
            [
                OutgoingMessage(
                    dedupe_key=keys[cid],
                    customer_id=cid,
                    channel="whatsapp",
                    template_key=TEMPLATE_FOR_KIND[kind],
                    variables={
                        "discount": discount_value(issued[keys[cid]].discount_pct),
                        "coupon": issued[keys[cid]].code,
                    },
                )
                for cid in who
            ],
            as_of,
            cfg.messaging,
        )
    return new


async def reward_referrals(session: AsyncSession, as_of: date, cfg: ShopConfig) -> int:
    """Credit the referrer once when a referee's first order arrives; new credits."""
    since = as_of - timedelta(days=cfg.coupons.lookback_days)
    referred = select(Customer.id).where(Customer.referred_by_id.is_not(None))
    first = (
        select(Order.customer_id.label("customer_id"), func.min(Order.order_date).label("first"))
        .where(_counted, Order.order_date <= as_of, Order.customer_id.in_(referred))
        .group_by(Order.customer_id)
        .subquery()
    )
    result = (
        await session.execute(
            select(Customer.id, Customer.referred_by_id)
            .join(first, first.c.customer_id == Customer.id)
            .where(
                Customer.referred_by_id.is_not(None),
                Customer.referred_by_id != Customer.id,
                first.c.first >= since,
            )
            .order_by(Customer.id)
        )
    ).all()
    rows = [(referee, referrer) for referee, referrer in result if referrer is not None]
    if not rows:
        return 0
    amount = cfg.coupons.referral_reward_amount
    credited = await insert_ignore(
        session,
        WalletEntry,
        [
            {
                "dedupe_key": f"referral:{referee}",
                "customer_id": referrer,
                "order_id": None,
                "kind": "referral",
                "amount": amount,
                "entry_date": as_of,
                "note": f"referral of customer {referee}",
            }
            for referee, referrer in rows
        ],
        ["dedupe_key"],
    )
    await queue_messages(
        session,
        [
            OutgoingMessage(
                dedupe_key=f"referral:{referee}",
                customer_id=referrer,
                channel="whatsapp",
                template_key="referral_reward",
                variables={"amount": discount_value(amount)},
                purpose="service",
            )
            for referee, referrer in rows
        ],
        as_of,
        cfg.messaging,
    )
    return credited


@dataclass(frozen=True)
class CodeUse:
    """An order carrying a coupon code, with what is known of the coupon (None fields: no coupon)."""

    order_id: int
    customer_id: int
    order_date: date
    total: Decimal
    code: str
    coupon_id: int | None = None
    owner_id: int | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    usage_limit: int = 1
    times_used: int = 0
    kind: str | None = None
    min_order_value: Decimal = Decimal(0)


def redemption_problem(use: CodeUse, used: int) -> str | None:
    """Why an order's code cannot be redeemed (None when it can); `used` counts earlier uses."""
    if use.coupon_id is None or use.valid_from is None or use.valid_until is None:
        return "unknown_code"
    if use.order_date < use.valid_from:
        return "not_yet_valid"
    if use.order_date > use.valid_until:
        return "expired"
    if used >= use.usage_limit:
        return "used_up"
    if use.owner_id is not None and use.owner_id != use.customer_id and use.kind != "referral":
        return "not_owner"
    if use.total < use.min_order_value:
        return "below_minimum"
    return None


@dataclass
class RedemptionResult:
    redeemed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejections: list[tuple[int, str, str]] = field(default_factory=list)  # order, code, reason


async def record_redemptions(
    session: AsyncSession, as_of: date, lookback_days: int = 14
) -> RedemptionResult:
    """Record each valid coupon use on orders up to `as_of` once; report the codes refused."""
    done = aliased(CouponRedemption)
    code = func.upper(func.trim(Order.coupon_code))
    rows = (
        await session.execute(
            select(
                Order.id,
                Order.customer_id,
                Order.order_date,
                Order.total,
                code,
                Coupon.id,
                Coupon.customer_id,
                Coupon.valid_from,
                Coupon.valid_until,
                Coupon.usage_limit,
                Coupon.times_used,
                CouponRule.kind,
                CouponRule.min_order_value,
            )
            .select_from(Order)
            .outerjoin(Coupon, Coupon.code == code)
            .outerjoin(CouponRule, CouponRule.id == Coupon.rule_id)
            .where(
                _counted,
                Order.coupon_code.is_not(None),
                func.trim(Order.coupon_code) != "",
                Order.order_date <= as_of,
                Order.order_date >= as_of - timedelta(days=lookback_days),
                ~exists().where(done.order_id == Order.id),
            )
            .order_by(Order.order_date, Order.id)
        )
    ).all()
    result = RedemptionResult()
    used: Counter[int] = Counter()
    new_rows: list[dict[str, Any]] = []
    for row in rows:
        use = CodeUse(
            order_id=row[0],
            customer_id=row[1],
            order_date=row[2],
            total=Decimal(str(row[3])),
            code=row[4],
            coupon_id=row[5],
            owner_id=row[6],
            valid_from=row[7],
            valid_until=row[8],
            usage_limit=row[9] or 1,
            times_used=row[10] or 0,
            kind=row[11],
            min_order_value=Decimal(str(row[12] or 0)),
        )
        problem = redemption_problem(use, use.times_used + used[use.coupon_id or 0])
        if problem is not None:
            result.rejected[problem] += 1
            result.rejections.append((use.order_id, use.code, problem))
            continue
        assert use.coupon_id is not None
        used[use.coupon_id] += 1
        new_rows.append(
            {"coupon_id": use.coupon_id, "order_id": use.order_id, "redeemed_on": use.order_date}
        )
    result.redeemed = await insert_ignore(session, CouponRedemption, new_rows, ["order_id"])
    if used:
        await _recount_uses(session, sorted(used))
        await _record_referrers(session, [r["order_id"] for r in new_rows])
    return result


async def _recount_uses(session: AsyncSession, coupon_ids: Sequence[int]) -> None:
    """times_used = number of redemptions (a recount, so a re-run can never double it)."""
    uses = select(func.count()).where(CouponRedemption.coupon_id == Coupon.id).scalar_subquery()
    for start in range(0, len(coupon_ids), 1000):
        chunk = coupon_ids[start : start + 1000]
        await session.execute(
            table_of(Coupon).update().where(Coupon.id.in_(chunk)).values(times_used=uses)
        )


async def _record_referrers(session: AsyncSession, order_ids: Sequence[int]) -> None:
    """A referral code used on someone else's order names its owner as that customer's referrer."""
    if not order_ids:
        return
    rows = (
        await session.execute(
            select(Order.customer_id, Coupon.customer_id)
            .join(CouponRedemption, CouponRedemption.order_id == Order.id)
            .join(Coupon, Coupon.id == CouponRedemption.coupon_id)
            .join(CouponRule, CouponRule.id == Coupon.rule_id)
            .join(Customer, Customer.id == Order.customer_id)
            .where(
                Order.id.in_(order_ids),
                CouponRule.kind == "referral",
                Coupon.customer_id.is_not(None),
                Coupon.customer_id != Order.customer_id,
                Customer.referred_by_id.is_(None),
            )
        )
    ).all()
    if rows:
        await session.execute(
            table_of(Customer)
            .update()
            .where(and_(Customer.id == bindparam("b_id"), Customer.referred_by_id.is_(None)))
            .values(referred_by_id=bindparam("b_ref")),
            [{"b_id": referee, "b_ref": referrer} for referee, referrer in dict(rows).items()],
        )


async def coupons_step(session: AsyncSession, as_of: date, cfg: ShopConfig) -> dict[str, int]:
    """The daily coupon job: redemptions, then welcome/repeat coupons and referral rewards."""
    redemptions = await record_redemptions(session, as_of, cfg.coupons.lookback_days)
    out = {
        "redeemed": redemptions.redeemed,
        "redemptions_refused": sum(redemptions.rejected.values()),
    }
    out.update({f"refused_{k}": v for k, v in sorted(redemptions.rejected.items())})
    out["order_coupons"] = await issue_order_coupons(session, as_of, cfg)
    out["referral_rewards"] = await reward_referrals(session, as_of, cfg)
    return out
