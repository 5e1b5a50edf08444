"""tier_for with literal thresholds: both criteria, each boundary, never down."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.membership import birthday_matches, discount_value, tier_for, upgrade_target
from core.shopconfig.schema import MembershipConfig, TierDef


def _tier(code: str, orders: int, spend: int) -> TierDef:
    return TierDef(
        code=code,  # type: ignore[arg-type]
        name=code.title(),
        name_bn=code,
        min_orders=orders,
        min_spend=Decimal(spend),
        discount_pct=Decimal(5),
        cashback_pct=Decimal(1),
        benefits_bn="",
        benefits_en="",
    )


TIERS = MembershipConfig(
    tiers=[_tier("silver", 3, 5000), _tier("gold", 6, 12000), _tier("permanent", 12, 25000)]
).tiers


@pytest.mark.parametrize(
    ("orders", "spend", "expected"),
    [
        (0, 0, "none"),
        (2, 4999.99, "none"),
        (3, 0, "silver"),  # orders alone
        (1, 5000, "silver"),  # spend alone
        (5, 11999.99, "silver"),
        (6, 100, "gold"),
        (2, 12000, "gold"),
        (11, 24999.99, "gold"),
        (12, 0, "permanent"),
        (1, 25000, "permanent"),
        (40, 100000, "permanent"),
    ],
)
def test_tier_for_either_criterion(orders: int, spend: float, expected: str) -> None:
    assert tier_for(orders, Decimal(str(spend)), TIERS) == expected


def test_upgrades_only() -> None:
    assert upgrade_target("none", 3, Decimal(0), TIERS) == "silver"
    assert upgrade_target("silver", 6, Decimal(0), TIERS) == "gold"
    assert upgrade_target("none", 12, Decimal(0), TIERS) == "permanent"  # skips tiers
    assert upgrade_target("gold", 3, Decimal(0), TIERS) is None  # no downgrade
    assert upgrade_target("permanent", 0, Decimal(0), TIERS) is None
    assert upgrade_target("silver", 4, Decimal(6000), TIERS) is None  # no sideways event


def test_discount_value_is_written_as_people_write_it() -> None:
    assert discount_value(Decimal("5.00")) == 5
    assert discount_value(Decimal("7.5")) == 7.5
    assert discount_value(None) is None


def test_birthdays() -> None:
    assert birthday_matches(date(1990, 3, 10), date(2026, 3, 10))
    assert not birthday_matches(date(1990, 3, 10), date(2026, 3, 11))
    assert birthday_matches(date(1996, 2, 29), date(2027, 2, 28))
    assert not birthday_matches(date(1996, 2, 29), date(2028, 2, 28))
    assert birthday_matches(date(1996, 2, 29), date(2028, 2, 29))
