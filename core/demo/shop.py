"""The whole demo shop as plain data, drawn from one seed: customers, orders, coupons, tiers.

Nothing here touches the database or the clock: the same (customers, seed, as_of, config) gives
the same shop, row for row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from core.clock import SHOP_TZ
from core.demo.catalog import PRODUCTS
from core.demo.history import (
    Cashback,
    DemoCoupon,
    DemoOrder,
    TierEvent,
    cashback_history,
    issue_coupons,
    tier_history,
)
from core.demo.households import ARCHETYPES, Basket, Rhythms, buy, plan_household
from core.demo.people import mobile_number, person, place
from core.demo.stories import category_profile, stories
from core.shopconfig.loader import ShopConfig

HISTORY_DAYS = 425  # about fourteen months of orders before as_of
PROSPECT_SHARE = 0.03  # imported leads who never ordered
ORDER_HOURS = tuple(range(8, 23))
HOUR_WEIGHTS = (3, 6, 8, 8, 7, 5, 5, 6, 6, 7, 9, 10, 9, 6, 3)


@dataclass
class DemoCustomer:
    ref: str
    phone: str
    name: str
    language: str
    district: str
    city: str
    marketing_consent: bool
    whatsapp_status: str
    created_at: datetime
    birthday: date | None = None
    referred_by: int | None = None  # index of the referring customer
    opted_out_at: datetime | None = None
    tier: str = "none"
    tier_since: date | None = None
    story: str | None = None


@dataclass
class DemoShop:
    as_of: date
    customers: list[DemoCustomer]
    orders: list[DemoOrder]  # ordered by time
    coupons: list[DemoCoupon]
    tier_events: list[TierEvent]
    cashback: list[Cashback] = field(default_factory=list)
    referral_rewards: list[tuple[int, int, date]] = field(default_factory=list)  # referee, referrer
    referral_reward: Decimal = Decimal(0)  # wallet credit per referral
    stories: dict[str, int] = field(default_factory=dict)  # label -> customer index


def simulate_shop(customers: int, seed: int, as_of: date, cfg: ShopConfig) -> DemoShop:
    """The demo shop for a seed and a date, under the shop's applied config."""
    rng = random.Random(seed)
    start = as_of - timedelta(days=HISTORY_DAYS)
    rhythms = Rhythms(_days_per_reference(cfg))
    cross_sell: dict[str, list[str]] = {}
    for rule in cfg.crosssell.rules:
        if rule.trigger_category and rule.recommend_category:
            cross_sell.setdefault(rule.trigger_category, []).append(rule.recommend_category)
    phones: set[str] = set()
    people: list[DemoCustomer] = []
    baskets: list[list[Basket]] = []
    shop = DemoShop(as_of, people, [], [], [])
    shop.referral_reward = cfg.coupons.referral_reward_amount

    for story in stories(cfg, HISTORY_DAYS)[:customers]:
        first = start + timedelta(days=story.baskets[0].day)
        shop.stories[story.label] = len(people)
        people.append(
            DemoCustomer(
                _ref(len(people)),
                mobile_number(rng, phones),
                story.name_bn,
                "bn",
                story.district,
                story.city,
                True,
                "yes",
                _instant(rng, first),
                story=story.label,
            )  # fmt: skip
        )
        baskets.append(list(story.baskets))
    archetypes = list(ARCHETYPES)
    odds = [ARCHETYPES[a][0] for a in archetypes]
    while len(people) < customers:
        who, (district, city) = person(rng), place(rng)
        language = "en" if rng.random() < 0.15 else "bn"
        name = who.name_bn if language == "bn" and rng.random() < 0.55 else who.name_en
        status = rng.choices(("yes", "no", "unknown"), weights=(78, 14, 8))[0]
        if rng.random() < PROSPECT_SHARE:
            created = _instant(rng, as_of - timedelta(days=rng.randint(1, 90)))
            bought: list[Basket] = []
        else:
            first_day = _first_day(rng)
            home = plan_household(
                rng, rhythms, rng.choices(archetypes, odds)[0], first_day, HISTORY_DAYS
            )
            bought = buy(rng, home, rhythms, cross_sell, HISTORY_DAYS - 1, HISTORY_DAYS)
            created = _instant(rng, start + timedelta(days=first_day))
        consent = rng.random() < 0.92
        customer = DemoCustomer(
            _ref(len(people)), mobile_number(rng, phones), name, language, district, city,
            consent, status, created,
        )  # fmt: skip
        if consent and bought and rng.random() < 0.01:
            customer.marketing_consent = False
            customer.opted_out_at = _instant(rng, as_of - timedelta(days=rng.randint(2, 60)))
        if rng.random() < 0.45:
            customer.birthday = _birthday(rng)
        people.append(customer)
        baskets.append(bought)

    per_customer = [_orders(rng, i, b, start, as_of, people[i]) for i, b in enumerate(baskets)]
    cutoff = as_of - timedelta(days=2)
    codes: set[str] = set()
    for i, orders in enumerate(per_customer):
        shop.coupons.extend(issue_coupons(rng, i, orders, cfg, cutoff, codes))
        events = tier_history(i, orders, cfg, cutoff)
        if events:
            people[i].tier, people[i].tier_since = events[-1].to_tier, events[-1].event_date
            shop.tier_events.extend(events)
            shop.cashback.extend(cashback_history(orders, events, cfg, cutoff))
    _referrals(rng, people, per_customer)
    for i, orders in enumerate(per_customer):
        referrer = people[i].referred_by
        counted = [o.order_date for o in orders if o.counted]
        if referrer is not None and counted and counted[0] <= cutoff:
            shop.referral_rewards.append((i, referrer, counted[0] + timedelta(days=1)))
    _birthdays_today(rng, people, as_of)
    shop.orders = sorted(
        (o for orders in per_customer for o in orders), key=lambda o: (o.ordered_at, o.customer)
    )
    return shop


def _days_per_reference(cfg: ShopConfig) -> dict[str, tuple[float, Decimal]]:
    result: dict[str, tuple[float, Decimal]] = {}
    for category in {p.category for p in PRODUCTS}:
        profile = category_profile(cfg, category)
        if profile is not None:
            result[category] = (float(profile.avg_consumption_days), profile.reference_quantity)
    return result


def _ref(index: int) -> str:
    return f"DEMO-{index + 1:06d}"


def _first_day(rng: random.Random) -> int:
    """A first-order day: some founding customers, then acquisition growing over time."""
    if rng.random() < 0.12:
        return rng.randrange(0, 30)
    return min(HISTORY_DAYS - 1, int(HISTORY_DAYS * rng.random() ** 0.5))


def _instant(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(ORDER_HOURS, weights=HOUR_WEIGHTS)[0]
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), SHOP_TZ)
    return local.astimezone(UTC)


def _birthday(rng: random.Random) -> date:
    year = rng.randint(1962, 2002)
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _orders(
    rng: random.Random,
    index: int,
    baskets: list[Basket],
    start: date,
    as_of: date,
    customer: DemoCustomer,
) -> list[DemoOrder]:
    orders = []
    for basket in baskets:
        day = start + timedelta(days=basket.day)
        at = _instant(rng, day)
        if customer.story is not None:
            status = "delivered"
        elif (as_of - day).days <= 2:
            status = "pending" if rng.random() < 0.65 else "delivered"
        else:
            roll = rng.random()
            status = "cancelled" if roll < 0.04 else "returned" if roll < 0.055 else "delivered"
        orders.append(DemoOrder(index, at, day, status, basket.lines))
    if orders:  # the account is opened with the first order
        customer.created_at = orders[0].ordered_at - timedelta(minutes=rng.randint(3, 40))
    return orders


def _referrals(
    rng: random.Random, people: list[DemoCustomer], per_customer: list[list[DemoOrder]]
) -> None:
    """About one customer in twenty came on a referral from someone who bought before them."""
    buyers = sorted((orders[0].order_date, i) for i, orders in enumerate(per_customer) if orders)
    for n, (_, i) in enumerate(buyers):
        if n > 20 and people[i].story is None and rng.random() < 0.05:
            people[i].referred_by = buyers[rng.randrange(n - 1)][1]


def _birthdays_today(rng: random.Random, people: list[DemoCustomer], as_of: date) -> None:
    """A few members whose birthday is as_of, so the birthday coupon has work today."""
    members = [c for c in people if c.tier != "none" and c.marketing_consent and c.story is None]
    for customer in rng.sample(members, min(3, len(members))):
        year = rng.randint(1970, 1995)
        if (as_of.month, as_of.day) == (2, 29):
            year = 1988
        customer.birthday = as_of.replace(year=year)
