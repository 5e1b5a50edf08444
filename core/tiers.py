"""Membership tiers as plain rules: which tier order count and spend reach, and what goes up."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import case, or_

from core.shopconfig.schema import TierDef

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


def tier_rank_sql(count: Any, spend: Any, tiers: Sequence[TierDef]) -> Any:
    """SQL mirror of `tier_for`, as the reached tier's rank (tests check they agree)."""
    whens = [
        (or_(count >= t.min_orders, spend >= t.min_spend), tier_rank(t.code))
        for t in reversed(tiers)
    ]
    return case(*whens, else_=0)


def rank_of_sql(code: Any) -> Any:
    """SQL `tier_rank` of a tier-code column."""
    return case({c: i for i, c in enumerate(TIER_ORDER)}, value=code, else_=0)


def code_of_rank_sql(rank: Any) -> Any:
    """SQL inverse of `rank_of_sql`: the tier code of a rank."""
    return case({i: c for i, c in enumerate(TIER_ORDER)}, value=rank, else_="none")
