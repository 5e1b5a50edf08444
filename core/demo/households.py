"""How one demo household buys: a rhythm per staple, consolidated baskets, skips, churn.

Days are integer offsets from the first day of the demo's history. A household keeps, for each
staple it buys, the day its stock runs out; it orders around the earliest of those days, and the
basket takes every staple running out within a few days. An occasional customer buys part of its
needs elsewhere (a staple is skipped, its stock renewed anyway); a churned one stops for good.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from core.demo.catalog import PRODUCTS, STAPLE_ODDS, DemoProduct

CONSOLIDATE_DAYS = 8  # staples running out this soon go into the same basket
ANCHOR_DAYS = 14  # staples lasting at least this long decide when the household shops

# archetype: (share of households, share of needs bought here (low, high), churn probability)
ARCHETYPES: dict[str, tuple[float, tuple[float, float], float]] = {
    "one_timer": (0.25, (1.0, 1.0), 1.0),
    "occasional": (0.42, (0.25, 0.55), 0.4),
    "regular": (0.3, (0.65, 0.92), 0.3),
    "vip": (0.03, (0.95, 0.99), 0.08),
}
# bigger households pick bigger packs of these
BULK_SKUS = {
    "RICE-MINIKET-10KG",
    "OIL-MUSTARD-5L",
    "FLOUR-ATTA-5KG",
    "EGGS-FARM-30",
    "GHEE-COW-900G",
}


@dataclass
class Staple:
    product: int  # index into PRODUCTS
    packs: int
    period: float  # days this basket line lasts the household
    runs_out: float = 0.0


@dataclass
class Household:
    archetype: str
    share: float  # probability a due staple is bought here rather than elsewhere
    first_day: int
    stop_day: int  # no order on or after this day (churn)
    staples: list[Staple] = field(default_factory=list)


@dataclass(frozen=True)
class Basket:
    day: int
    lines: tuple[tuple[int, int], ...]  # (product index, packs)


class Rhythms:
    """Consumption days per pack from the shop's profiles, and the catalogue grouped by category."""

    def __init__(self, days_per_reference: dict[str, tuple[float, Decimal]]) -> None:
        self.days_per_reference = days_per_reference  # category -> (days, reference base qty)
        self.by_category: dict[str, list[int]] = {}
        for i, p in enumerate(PRODUCTS):
            self.by_category.setdefault(p.category, []).append(i)

    def days(self, product: DemoProduct, packs: int) -> float:
        """How long `packs` of a product last an average household."""
        days, reference = self.days_per_reference.get(
            product.category, (30.0, product.base_quantity)
        )
        return days * float(product.base_quantity * packs / reference)

    def pick(
        self,
        rng: random.Random,
        category: str,
        day: int,
        history_days: int,
        *,
        bulk: bool,
        new_ok: bool,
    ) -> int | None:
        """A product of a category launched by `day`, bulk packs favoured for big households."""
        choices, weights = [], []
        for i in self.by_category.get(category, []):
            p = PRODUCTS[i]
            if p.is_new and not new_ok:
                continue
            if history_days - p.launched_days_ago > day:
                continue
            choices.append(i)
            weights.append(p.weight * (4 if bulk and p.sku in BULK_SKUS else 1))
        return rng.choices(choices, weights=weights)[0] if choices else None


def plan_household(
    rng: random.Random, rhythms: Rhythms, archetype: str, first_day: int, history_days: int
) -> Household:
    """A household's staples, their rhythms, and the day it stops buying (if it churns)."""
    _, (low, high), churn_odds = ARCHETYPES[archetype]
    vip = archetype == "vip"
    size = rng.uniform(1.6, 2.4) if vip else math.exp(rng.gauss(0.0, 0.2))
    if archetype == "one_timer":
        stop = first_day + 1
    elif rng.random() < churn_odds:
        stop = rng.randint(first_day + 20, history_days + 150)
    else:
        stop = history_days + 1
    home = Household(archetype, rng.uniform(low, high), first_day, stop)
    for category, odds in STAPLE_ODDS.items():
        if rng.random() >= min(1.0, odds + (0.3 if vip else 0.0)):
            continue
        product = rhythms.pick(rng, category, first_day, history_days, bulk=vip, new_ok=False)
        if product is None:
            continue
        packs = rng.choice((1, 2, 2)) if vip and PRODUCTS[product].sku not in BULK_SKUS else 1
        period = rhythms.days(PRODUCTS[product], packs) / size * rng.gauss(1.0, 0.08)
        home.staples.append(Staple(product, packs, max(5.0, period)))
    if not home.staples:
        product = rhythms.pick(rng, "rice", first_day, history_days, bulk=vip, new_ok=False)
        assert product is not None
        home.staples.append(Staple(product, 1, rhythms.days(PRODUCTS[product], 1) / size))
    return home


def buy(
    rng: random.Random,
    home: Household,
    rhythms: Rhythms,
    cross_sell: Mapping[str, Sequence[str]],
    last_day: int,
    history_days: int,
) -> list[Basket]:
    """The household's orders from its first day until it stops or the history ends."""
    baskets: list[Basket] = []
    first: list[tuple[int, int]] = []
    for item in home.staples:
        if not first or rng.random() < 0.7:
            first.append((item.product, item.packs))
            item.runs_out = home.first_day + item.period * rng.gauss(1.0, 0.08)
        else:  # still has stock bought elsewhere
            item.runs_out = home.first_day + item.period * rng.random()
    baskets.append(Basket(home.first_day, tuple(first)))
    day = home.first_day
    while True:
        # long-lasting staples set the shopping day; short ones (eggs) ride along
        anchors = [item for item in home.staples if item.period >= ANCHOR_DAYS] or home.staples
        due = min(item.runs_out for item in anchors)
        day = max(day + 1, round(due + rng.gauss(0.0, 1.5)))
        if day > last_day or day >= home.stop_day:
            return baskets
        here = rng.random() < home.share  # else this time it all came from elsewhere
        lines: list[tuple[int, int]] = []
        for item in home.staples:
            if item.runs_out > day + CONSOLIDATE_DAYS:
                continue
            jitter = max(0.6, rng.gauss(1.0, 0.09))
            if here and rng.random() < 0.92:
                lines.append((item.product, item.packs))
                item.runs_out = max(item.runs_out, day) + item.period * jitter
            else:
                item.runs_out = day + item.period * jitter
        if not lines:
            continue
        lines.extend(_extras(rng, rhythms, cross_sell, lines, day, history_days))
        baskets.append(Basket(day, tuple(_merge(lines))))


def _extras(
    rng: random.Random,
    rhythms: Rhythms,
    cross_sell: Mapping[str, Sequence[str]],
    lines: list[tuple[int, int]],
    day: int,
    history_days: int,
) -> list[tuple[int, int]]:
    """One-off additions: a cross-sell that worked, now and then a new product tried."""
    extra: list[tuple[int, int]] = []
    if rng.random() < 0.12:
        triggers = [PRODUCTS[p].category for p, _ in lines if cross_sell.get(PRODUCTS[p].category)]
        if triggers:
            category = rng.choice(cross_sell[rng.choice(triggers)])
            product = rhythms.pick(rng, category, day, history_days, bulk=False, new_ok=False)
            if product is not None:
                extra.append((product, 1))
    if rng.random() < 0.06:
        fresh = [
            i
            for i, p in enumerate(PRODUCTS)
            if p.is_new and history_days - p.launched_days_ago <= day
        ]
        if fresh:
            extra.append((rng.choice(fresh), 1))
    return extra


def _merge(lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    packs: dict[int, int] = {}
    for product, n in lines:
        packs[product] = packs.get(product, 0) + n
    return sorted(packs.items())
