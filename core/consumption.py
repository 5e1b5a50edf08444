"""Consumption rules: how long a purchase lasts, when to remind, the learned household rhythm.

next reminder = order date + consumption days - buffer days, where consumption days is the
profile's average scaled by quantity bought / reference pack, rounded half up and clamped to
[min_days, max_days]. The reminder SQL (core.reminders) computes the same integer formula:
quantities are taken in thousandths of a base unit so that both databases and Python agree
exactly (no float rounding at .5).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol, TypeVar

from core.shopconfig.schema import LearnedRhythm

CONFIDENCE_LABELS = ("profile", "low", "medium", "high")
# What the agent sees next to a due date: Bangla, English.
CONFIDENCE_TEXT = {
    "profile": ("সাধারণ হিসাব", "typical usage"),
    "low": ("নিজস্ব ছন্দ: কম আস্থা", "own rhythm: low confidence"),
    "medium": ("নিজস্ব ছন্দ: মাঝারি আস্থা", "own rhythm: medium confidence"),
    "high": ("নিজস্ব ছন্দ: উচ্চ আস্থা", "own rhythm: high confidence"),
}


@dataclass(frozen=True)
class Profile:
    """How long a reference quantity (in base units: g, ml, pcs) lasts, with its clamps."""

    avg_consumption_days: int
    buffer_days: int
    min_days: int
    max_days: int
    reference_quantity: Decimal


def milli(quantity: Decimal | float | int) -> int:
    """A quantity in thousandths of its unit, rounded half up (the SQL uses the same integers)."""
    return int((Decimal(str(quantity)) * 1000).to_integral_value(ROUND_HALF_UP))


def clamp(value: int, low: int, high: int) -> int:
    """value limited to [low, high]."""
    return max(low, min(high, value))


def round_half_up(value: float | Decimal) -> int:
    """Nearest integer, halves away from zero (for positive values: up)."""
    return int(Decimal(str(value)).to_integral_value(ROUND_HALF_UP))


def consumption_days(profile: Profile, base_quantity: Decimal | float | int) -> int:
    """Days a purchase lasts: the average scaled by quantity / reference pack, clamped."""
    q = milli(base_quantity)
    r = milli(profile.reference_quantity)
    raw = (2 * profile.avg_consumption_days * q + r) // (2 * r)
    return clamp(raw, profile.min_days, profile.max_days)


def next_reminder_date(order_date: date, consumption_days: int, buffer_days: int) -> date:
    """order date + consumption days - buffer days."""
    return order_date + timedelta(days=consumption_days - buffer_days)


def run_out_date(order_date: date, consumption_days: int) -> date:
    """The day a purchase is expected to be used up."""
    return order_date + timedelta(days=consumption_days)


def choose_profile(
    product_profile: Profile | None, category_profile: Profile | None
) -> Profile | None:
    """The product's own profile when it has one, else its category's (None: no reminder)."""
    return product_profile if product_profile is not None else category_profile


def purchase_intervals(dates: Sequence[date]) -> list[int]:
    """Days between consecutive distinct purchase dates, oldest first."""
    days = sorted(set(dates))
    return [(b - a).days for a, b in zip(days, days[1:], strict=False)]


def confidence_label(weight: float, max_weight: float) -> str:
    """low / medium / high as the learned weight approaches its maximum."""
    share = weight / max_weight
    if share >= 1 - 1e-9:
        return "high"
    if share >= 0.7:
        return "medium"
    return "low"


def learned_days(
    profile_days: int,
    intervals: Sequence[int],
    cfg: LearnedRhythm,
    min_days: int,
    max_days: int,
) -> tuple[int, str]:
    """Blend the median of a customer's own intervals with the profile: (days, confidence label).

    With fewer than `cfg.min_purchases` purchases (intervals + 1) the profile stands ("profile").
    Otherwise weight = min(max_weight, weight_per_interval × intervals) goes to the median.
    """
    if len(intervals) + 1 < cfg.min_purchases or not intervals:
        return profile_days, "profile"
    weight = min(cfg.max_weight, cfg.weight_per_interval * len(intervals))
    median = Decimal(str(statistics.median(intervals)))
    w = Decimal(str(weight))
    blended = w * median + (1 - w) * profile_days
    return clamp(round_half_up(blended), min_days, max_days), confidence_label(
        weight, cfg.max_weight
    )


class Due(Protocol):
    @property
    def due_date(self) -> date: ...


D = TypeVar("D", bound=Due)


def group_basket(due_items: Sequence[D], as_of: date, window_days: int) -> list[D]:
    """Today's basket for one customer: nothing unless an item is due by as_of; then every item
    due by as_of + window_days, soonest first (one reminder, not one per product)."""
    if not any(item.due_date <= as_of for item in due_items):
        return []
    horizon = as_of + timedelta(days=window_days)
    return sorted((i for i in due_items if i.due_date <= horizon), key=lambda i: i.due_date)
