"""The contact budget's first day with room, against the rule written out day by day."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.outbox import first_day_with_room

DAY = date(2026, 3, 10)


def by_the_rule(wanted: date, per_day: Counter[date], per_day_cap: int, per_week_cap: int) -> date:
    """Each day from `wanted`: room that day and in every 7-day window holding it."""
    day = wanted
    while True:
        windows = [day - timedelta(days=k) for k in range(7)]
        if per_day[day] < per_day_cap and all(
            sum(per_day[start + timedelta(days=i)] for i in range(7)) < per_week_cap
            for start in windows
        ):
            return day
        day += timedelta(days=1)


@given(
    st.dictionaries(st.integers(-8, 12), st.integers(0, 3), max_size=12),
    st.integers(1, 3),
    st.integers(1, 8),
)
def test_first_day_with_room_follows_the_rule(offsets, per_day_cap, per_week_cap) -> None:
    counts = Counter({DAY + timedelta(days=o): n for o, n in offsets.items()})
    expected = by_the_rule(DAY, counts, per_day_cap, per_week_cap)
    assert first_day_with_room(DAY, counts, per_day_cap, per_week_cap) == expected


def test_a_full_week_defers_past_its_end() -> None:
    counts = Counter({DAY - timedelta(days=2): 1, DAY: 1, DAY + timedelta(days=1): 1})
    assert first_day_with_room(DAY, counts, 1, 3) == DAY + timedelta(days=5)
