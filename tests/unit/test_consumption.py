"""The consumption formulas with literal dates: the seed's table, scaling, clamps, rhythm, basket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from core.cadence_text import day_text, join_names, product_text, quantity_text
from core.consumption import (
    Profile,
    choose_profile,
    consumption_days,
    group_basket,
    learned_days,
    next_reminder_date,
    purchase_intervals,
)
from core.shopconfig import load_config_dir
from core.shopconfig.apply import reference_in_base
from core.shopconfig.schema import LearnedRhythm

CONFIG = load_config_dir(Path(__file__).resolve().parents[2] / "config")


def seed_profile(category: str) -> Profile:
    p = next(p for p in CONFIG.consumption.profiles if p.category == category)
    ref, _ = reference_in_base(p.reference_quantity, p.reference_unit)
    return Profile(p.avg_consumption_days, p.buffer_days, p.min_days, p.max_days, ref)


def remind_on(category: str, base_quantity: Decimal, bought: date) -> date:
    profile = seed_profile(category)
    return next_reminder_date(bought, consumption_days(profile, base_quantity), profile.buffer_days)


@pytest.mark.parametrize(
    ("category", "base_quantity", "expected"),
    [
        ("rice", Decimal(5000), date(2026, 3, 23)),  # 5 kg → day 22
        ("oil", Decimal(1000), date(2026, 3, 19)),  # 1 L → day 18
        ("spices", Decimal(200), date(2026, 3, 29)),  # 200 g → day 28
        ("honey", Decimal(500), date(2026, 4, 10)),  # 500 g → day 40
    ],
)
def test_seed_table(category: str, base_quantity: Decimal, expected: date) -> None:
    assert remind_on(category, base_quantity, date(2026, 3, 1)) == expected


def test_seed_offsets_in_days() -> None:
    bought = date(2026, 3, 1)
    offsets = {
        c: (remind_on(c, q, bought) - bought).days
        for c, q in [("rice", 5000), ("oil", 1000), ("spices", 200), ("honey", 500)]
    }
    assert offsets == {"rice": 22, "oil": 18, "spices": 28, "honey": 40}


def test_quantity_scales_the_days() -> None:
    rice = seed_profile("rice")  # 27 days for 5 kg
    assert consumption_days(rice, Decimal(10000)) == 54  # 10 kg lasts twice as long
    assert consumption_days(rice, Decimal(2500)) == 14  # 13.5 rounds half up
    assert consumption_days(rice, Decimal("7500.000")) == 41  # 40.5 → 41
    assert remind_on("rice", Decimal(10000), date(2026, 3, 1)) == date(2026, 4, 19)


def test_clamps_both_ways() -> None:
    rice = seed_profile("rice")  # clamp [10, 90]
    assert consumption_days(rice, Decimal(500)) == 10  # 2.7 days → min_days
    assert consumption_days(rice, Decimal(50000)) == 90  # 270 days → max_days
    assert remind_on("rice", Decimal(500), date(2026, 3, 1)) == date(2026, 3, 6)
    assert remind_on("rice", Decimal(50000), date(2026, 3, 1)) == date(2026, 5, 25)


def test_product_profile_wins_over_category() -> None:
    product = Profile(10, 2, 5, 20, Decimal(1000))
    category = seed_profile("rice")
    assert choose_profile(product, category) is product
    assert choose_profile(None, category) is category
    assert choose_profile(None, None) is None


RHYTHM = LearnedRhythm(min_purchases=3, weight_per_interval=0.2, max_weight=0.8)


def test_learned_rhythm_needs_three_purchases() -> None:
    assert learned_days(22, [15], RHYTHM, 10, 90) == (22, "profile")
    assert learned_days(22, [], RHYTHM, 10, 90) == (22, "profile")


def test_learned_rhythm_blends_more_with_more_history() -> None:
    # 2 intervals: weight 0.4 → 0.4 × 15 + 0.6 × 27 = 22.2 → 22, low confidence
    assert learned_days(27, [14, 16], RHYTHM, 10, 90) == (22, "low")
    # 3 intervals: weight 0.6, median 15 → 0.6 × 15 + 0.4 × 27 = 19.8 → 20, medium
    assert learned_days(27, [14, 15, 40], RHYTHM, 10, 90) == (20, "medium")
    # 5 intervals: weight capped at 0.8 → 0.8 × 15 + 0.2 × 27 = 17.4 → 17, high
    assert learned_days(27, [15, 15, 15, 15, 15], RHYTHM, 10, 90) == (17, "high")


def test_learned_rhythm_is_clamped() -> None:
    assert learned_days(12, [2, 2, 2, 2], RHYTHM, 10, 90) == (10, "high")
    assert learned_days(80, [200, 200, 200, 200], RHYTHM, 10, 90) == (90, "high")


def test_purchase_intervals_ignore_same_day_repeats() -> None:
    dates = [date(2026, 1, 1), date(2026, 1, 20), date(2026, 1, 20), date(2026, 2, 5)]
    assert purchase_intervals(dates) == [19, 16]


@dataclass(frozen=True)
class Item:
    sku: str
    due_date: date


def test_basket_groups_items_due_within_the_window() -> None:
    as_of = date(2026, 3, 23)
    items = [
        Item("rice", date(2026, 3, 23)),
        Item("oil", date(2026, 3, 25)),
        Item("spices", date(2026, 3, 26)),  # 3 days ahead: still in the basket
        Item("honey", date(2026, 3, 27)),  # 4 days ahead: its own reminder later
    ]
    assert [i.sku for i in group_basket(items, as_of, 3)] == ["rice", "oil", "spices"]


def test_no_basket_before_anything_is_due() -> None:
    items = [Item("oil", date(2026, 3, 25)), Item("spices", date(2026, 3, 24))]
    assert group_basket(items, date(2026, 3, 23), 3) == []


def test_overdue_item_anchors_the_basket() -> None:
    items = [Item("oil", date(2026, 3, 20)), Item("spices", date(2026, 3, 24))]
    assert [i.sku for i in group_basket(items, date(2026, 3, 23), 0)] == ["oil"]


def test_wording() -> None:
    assert quantity_text(Decimal(5000), "g", "bn") == "৫ কেজি"
    assert quantity_text(Decimal(200), "g", "bn") == "২০০ গ্রাম"
    assert quantity_text(Decimal(1500), "ml", "en") == "1.5 l"
    assert quantity_text(Decimal(12), "pcs", "bn") == "১২টি"
    assert day_text(date(2026, 3, 23), "bn") == "২৩ মার্চ"
    assert day_text(date(2026, 3, 23), "en") == "23 March"
    assert join_names(["চাল", "ডাল", "তেল"], "bn") == "চাল, ডাল ও তেল"
    assert join_names(["rice"], "en") == "rice"


def test_product_text_drops_the_pack_size_a_reason_states_anyway() -> None:
    assert product_text("Miniket rice 5 kg") == "Miniket rice"
    assert product_text("মিনিকেট চাল ৫ কেজি") == "মিনিকেট চাল"
    assert product_text("Farm eggs 12 pcs") == "Farm eggs"
    assert product_text("Turmeric (200g)") == "Turmeric"
    assert product_text("ডিম ১২টি") == "ডিম"
    assert product_text("Vitamin B12") == "Vitamin B12"  # no unit: not a pack size
    assert product_text("5 kg") == "5 kg"  # nothing would be left
