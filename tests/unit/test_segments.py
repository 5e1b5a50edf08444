"""Segmentation rules on literal dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.customers.segments import classify, silence_thresholds
from core.shopconfig.schema import SegmentsConfig

CFG = SegmentsConfig()
AS_OF = date(2026, 3, 31)


def seg(count: int, spend: int, first: date | None, last: date | None, gap=None, tier="none"):
    return classify(
        order_count=count,
        total_spend=Decimal(spend),
        first_order_date=first,
        last_order_date=last,
        avg_gap=gap,
        tier=tier,
        as_of=AS_OF,
        cfg=CFG,
    )


def test_prospect_without_orders() -> None:
    s = seg(0, 0, None, None)
    assert (s.customer_type, s.lifecycle_stage, s.priority_level) == ("new", "prospect", "warm")


def test_new_customer_within_thirty_days() -> None:
    s = seg(1, 900, date(2026, 3, 10), date(2026, 3, 10))
    assert (s.customer_type, s.lifecycle_stage, s.priority_level) == ("new", "new", "warm")


def test_single_order_after_new_window_is_active_then_at_risk_then_churned() -> None:
    assert seg(1, 900, date(2026, 2, 20), date(2026, 2, 20)).lifecycle_stage == "active"
    # 46 days of silence > 45
    s = seg(1, 900, date(2026, 2, 13), date(2026, 2, 13))
    assert (s.lifecycle_stage, s.priority_level) == ("at_risk", "cold")
    assert seg(1, 900, date(2026, 2, 14), date(2026, 2, 14)).lifecycle_stage == "active"
    s = seg(1, 900, date(2025, 11, 30), date(2025, 11, 30))  # 121 days
    assert (s.customer_type, s.lifecycle_stage, s.priority_level) == ("inactive", "churned", "cold")


def test_own_rhythm_weekly_buyer_quiet_three_weeks_is_at_risk() -> None:
    # buys every 7 days; 21 days silent > 10.5 (1.5 x 7) but < 21.01 → at risk, not churned
    s = seg(10, 6000, date(2025, 12, 1), date(2026, 3, 10), gap=7.0)
    assert s.lifecycle_stage == "at_risk"
    s = seg(10, 6000, date(2025, 12, 1), date(2026, 3, 9), gap=7.0)  # 22 days > 21
    assert s.lifecycle_stage == "churned"


def test_own_rhythm_bimonthly_buyer_not_at_risk_after_two_months() -> None:
    s = seg(5, 4000, date(2025, 5, 1), date(2026, 1, 31), gap=60.0)  # 59 days < 90
    assert (s.customer_type, s.lifecycle_stage) == ("repeat", "active")


def test_vip_and_hot() -> None:
    s = seg(8, 3000, date(2025, 1, 1), date(2026, 3, 20), gap=30.0)
    assert (s.customer_type, s.priority_level) == ("vip", "hot")
    s = seg(2, 8000, date(2026, 1, 1), date(2026, 3, 20))
    assert (s.customer_type, s.priority_level) == ("repeat", "hot")
    s = seg(2, 2000, date(2026, 1, 1), date(2026, 3, 20), tier="gold")
    assert s.priority_level == "hot"


@pytest.mark.parametrize(("gap", "expected"), [(2.0, (7.0, 7.0)), (10.0, (15.0, 30.0))])
def test_thresholds_floor(gap: float, expected: tuple[float, float]) -> None:
    assert silence_thresholds(5, gap, CFG) == expected
