"""A few hand-shaped households, so that today's cadence has every kind of work to show.

- a family whose rice and oil rhythm (every ~20 days) is shorter than the profile's: the learned
  rhythm puts their basket reminder on as_of, days before the profile alone would;
- a customer whose order yesterday earns the second tier (gold) today;
- one lapsed customer per win-back rule, silent exactly that rule's number of days.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.consumption import Profile, consumption_days, learned_days
from core.demo.catalog import PRODUCTS
from core.demo.households import Basket
from core.shopconfig.apply import reference_in_base
from core.shopconfig.loader import ShopConfig

RHYTHM_PATTERN = (20, 19, 21, 20, 20, 22, 18, 20)  # median 20 days
SKU_INDEX = {p.sku: i for i, p in enumerate(PRODUCTS)}


@dataclass(frozen=True)
class Story:
    label: str
    name_bn: str
    name_en: str
    district: str
    city: str
    baskets: tuple[Basket, ...]


def category_profile(cfg: ShopConfig, category: str) -> Profile | None:
    """The applied config's profile of a category, in base units (None when it has none)."""
    for p in cfg.consumption.profiles:
        if p.category == category and p.sku is None:
            reference, _ = reference_in_base(p.reference_quantity, p.reference_unit)
            return Profile(p.avg_consumption_days, p.buffer_days, p.min_days, p.max_days, reference)
    return None


def learned_reminder_offset(cfg: ShopConfig, sku: str, intervals: list[int]) -> int:
    """Days from the last purchase to the reminder the learned rhythm gives (core.consumption)."""
    product = PRODUCTS[SKU_INDEX[sku]]
    profile = category_profile(cfg, product.category)
    if profile is None:
        return sum(intervals) // len(intervals)
    base = consumption_days(profile, product.base_quantity)
    days, _ = learned_days(
        base, intervals, cfg.consumption.learned_rhythm, profile.min_days, profile.max_days
    )
    return max(1, days - profile.buffer_days)


def stories(cfg: ShopConfig, history_days: int) -> list[Story]:
    """The story households; days are offsets from the start of the history."""
    last = history_days - 1  # yesterday
    rice, oil, turmeric, dal = (
        SKU_INDEX[s]
        for s in ("RICE-MINIKET-5KG", "OIL-MUSTARD-1L", "SPICE-TURMERIC-200G", "DAL-MOSUR-1KG")
    )
    intervals: list[int] = []
    while sum(intervals) + RHYTHM_PATTERN[len(intervals) % len(RHYTHM_PATTERN)] < history_days - 60:
        intervals.append(RHYTHM_PATTERN[len(intervals) % len(RHYTHM_PATTERN)])
    offset = learned_reminder_offset(cfg, "RICE-MINIKET-5KG", intervals)
    day = history_days - offset
    days = [day]
    for gap in reversed(intervals):
        day -= gap
        days.append(day)
    rhythm = tuple(
        Basket(d, ((rice, 1), (oil, 1), (turmeric, 1)) if n % 2 else ((rice, 1), (oil, 1)))
        for n, d in enumerate(sorted(days))
    )
    result = [Story("learned rhythm", "নুসরাত জাহান", "Nusrat Jahan", "Dhaka", "Dhanmondi", rhythm)]

    tiers = cfg.membership.tiers
    target = tiers[1] if len(tiers) > 1 else tiers[0]
    basket = ((rice, 1), (dal, 1), (oil, 1), (turmeric, 1))
    price = sum((PRODUCTS[p].price * n for p, n in basket), Decimal(0))
    if price * target.min_orders < target.min_spend:
        upgrade = tuple(Basket(last - 30 * k, basket) for k in reversed(range(target.min_orders)))
        result.append(
            Story(
                f"{target.code} upgrade today",
                "মাহমুদ হাসান",
                "Mahmud Hasan",
                "Chattogram",
                "Nasirabad",
                upgrade,
            )  # fmt: skip
        )

    winback_days = sorted(
        int(r.params["inactive_days"])
        for r in cfg.coupons.rules
        if r.kind == "winback" and "inactive_days" in r.params
    )
    names = (("সাদিয়া ইসলাম", "Sadia Islam", "Sylhet", "Zindabazar"),
             ("আরিফ হোসেন", "Arif Hossain", "Gazipur", "Tongi"),
             ("ফারহানা আক্তার", "Farhana Akter", "Dhaka", "Mirpur"))  # fmt: skip
    for n, silent in enumerate(winback_days[: len(names)]):
        end = history_days - silent
        if end - 56 < 0:
            continue
        lapsed = tuple(Basket(end - 28 * k, ((rice, 1), (oil, 1))) for k in (2, 1, 0))
        bn, en, district, city = names[n]
        result.append(Story(f"silent {silent} days (win-back)", bn, en, district, city, lapsed))
    return result
