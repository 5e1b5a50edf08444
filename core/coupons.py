"""Issuing coupons exactly once per reason (`dedupe_key`), each with a unique random code."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.bulk import among
from core.errors import Conflict, NotFound
from core.models import Coupon, CouponRule
from core.sqlbulk import insert_ignore

# Crockford-style alphabet: no 0/O or 1/I/L to misread on a phone call.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_CODE_ATTEMPTS = 8


def new_code(prefix: str, length: int = 6) -> str:
    """A fresh coupon code such as WELCOME_BACK-7KQ2MX (about 30 bits of randomness)."""
    return f"{prefix}-" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class CouponRequest:
    dedupe_key: str  # e.g. "winback:30:{customer_id}:{last_order_date}"
    customer_id: int | None
    campaign_id: int | None = None


@dataclass(frozen=True)
class IssuedCoupon:
    code: str
    valid_until: date
    discount_pct: float | None
    discount_amount: float | None


async def issue_coupons(
    session: AsyncSession, rule_key: str, requests: Sequence[CouponRequest], as_of: date
) -> dict[str, IssuedCoupon]:
    """Issue one coupon per request unless its dedupe_key was issued before; dedupe_key → coupon."""
    if not requests:
        return {}
    rule = await session.scalar(select(CouponRule).where(CouponRule.key == rule_key))
    if rule is None:
        raise NotFound(f"coupon rule {rule_key!r} (run `trustcart config apply`)")
    valid_until = as_of + timedelta(days=rule.valid_days - 1)
    pct = float(rule.discount_pct) if rule.discount_pct is not None else None
    amount = float(rule.discount_amount) if rule.discount_amount is not None else None
    # most requests of a daily job were issued on an earlier day: read those, draw no code
    issued = await _issued(session, [r.dedupe_key for r in requests], pct, amount)
    rows: list[dict[str, Any]] = [
        {
            "code": new_code(rule.code_prefix),
            "dedupe_key": r.dedupe_key,
            "rule_id": rule.id,
            "customer_id": r.customer_id,
            "campaign_id": r.campaign_id,
            "issued_on": as_of,
            "valid_from": as_of,
            "valid_until": valid_until,
            "usage_limit": rule.usage_limit,
            "times_used": 0,
        }
        for r in requests
        if r.dedupe_key not in issued
    ]
    pending = rows
    if not pending:
        return issued
    for _ in range(_CODE_ATTEMPTS):
        # any conflict is ignored: a dedupe_key issued before, or a random code already taken
        await insert_ignore(session, Coupon, pending, None)
        issued |= await _issued(session, [r["dedupe_key"] for r in pending], pct, amount)
        # a row that did not land lost its code to another coupon: draw again
        pending = [
            {**r, "code": new_code(rule.code_prefix)}
            for r in pending
            if r["dedupe_key"] not in issued
        ]
        if not pending:
            return issued
    raise Conflict(f"could not draw unique codes for {len(pending)} {rule_key!r} coupons")


async def _issued(
    session: AsyncSession, keys: Sequence[str], pct: float | None, amount: float | None
) -> dict[str, IssuedCoupon]:
    """The coupons already issued under these dedupe keys."""
    result = await session.execute(
        select(Coupon.dedupe_key, Coupon.code, Coupon.valid_until).where(
            among(session, Coupon.dedupe_key, keys)
        )
    )
    return {key: IssuedCoupon(code, until, pct, amount) for key, code, until in result.all()}
