"""The shop's clock and zone: instants are UTC, business dates are Asia/Dhaka dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHOP_TZ = ZoneInfo("Asia/Dhaka")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current instant, aware, in UTC (the only wall-clock read in the domain)."""
    return datetime.now(UTC)


def local_date(instant: datetime, tz: ZoneInfo = SHOP_TZ) -> date:
    """The shop-local business date of an aware instant."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(tz).date()


def start_of_day(day: date, tz: ZoneInfo = SHOP_TZ) -> datetime:
    """The UTC instant at which a shop-local date begins."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def local_noon(day: date, tz: ZoneInfo = SHOP_TZ) -> datetime:
    """A stable UTC instant inside a shop-local date (used when only a date is known)."""
    return datetime.combine(day, time(12, 0), tzinfo=tz).astimezone(UTC)


def days_between(earlier: date, later: date) -> int:
    """Whole days from one date to another (negative when reversed)."""
    return (later - earlier).days


def add_days(day: date, n: int) -> date:
    """A date n days later (or earlier when n < 0)."""
    return day + timedelta(days=n)
