"""Membership: tier upgrades, tier cashback (core.cashback) on the wallet ledger, and birthday coupons.

Rules (SEED.md §7.1, `config/membership.yaml`):
- A customer reaches a tier by order count OR total spend of counted orders up to `as_of`
  (`core.tiers.tier_for`; applied to the whole shop by core/tier_upgrades.py). Tiers only rise: the step never moves anyone down (Permanent is for life, and a
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
from datetime import date
from typing import Any

from sqlalchemy import and_, extract, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.cashback import credit_cashback, reverse_cashback
from core.coupons import CouponRequest, issue_coupons
from core.models import Coupon, Customer
from core.outbox import OutgoingMessage, queue_messages
from core.shopconfig import ShopConfig
from core.tasks import ids_by_key
from core.tier_upgrades import apply_upgrades
from core.tiers import (  # noqa: F401 - the tier rules are part of membership's surface
    TIER_ORDER,
    discount_value,
    tier_for,
    tier_rank,
    upgrade_target,
)


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
    out = await apply_upgrades(session, as_of, cfg)
    out.update(await birthday_coupons(session, as_of, cfg))
    out.update({"cashback_credited": credited, "cashback_reversed": reversed_})
    return out
