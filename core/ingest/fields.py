"""Parsing one value of an import row: numbers, dates, instants, yes/no, status, language.

Every parser takes the raw text (ASCII or Bangla digits) and returns a value or raises
InvalidInput with a reason a shop manager can act on.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from core.clock import SHOP_TZ, local_date, local_noon
from core.digits import to_ascii_digits
from core.errors import InvalidInput
from core.order_status import ORDER_STATUSES

CENT = Decimal("0.01")
THOUSANDTH = Decimal("0.001")
_YES = frozenset({"yes", "y", "true", "1", "হ্যাঁ", "হ্যা", "হাঁ", "জি", "opt_in", "opt-in"})
_NO = frozenset({"no", "n", "false", "0", "না", "opt_out", "opt-out"})
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLOCK = {f"{h:02d}:{m:02d}": timedelta(hours=h, minutes=m) for h in range(24) for m in range(60)}
_NO_TIME = timedelta(0)
_UNSEEN = object()
_LANGUAGES = {"bn": "bn", "bangla": "bn", "bengali": "bn", "বাংলা": "bn", "en": "en", "english": "en"}


def parse_decimal(raw: str, what: str, *, places: int, limit: Decimal) -> Decimal:
    """A finite decimal with at most `places` decimals and below `limit` in size."""
    text = to_ascii_digits(raw.strip()).replace(",", "")
    if not text:
        raise InvalidInput(f"{what} is empty")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{what} {raw.strip()!r} is not a number") from None
    return check_decimal(value, raw, what, places=places, limit=limit)


def check_decimal(value: Decimal, raw: str, what: str, *, places: int, limit: Decimal) -> Decimal:
    """The value when finite, small enough and with at most `places` decimals."""
    if not value.is_finite():
        raise InvalidInput(f"{what} {raw.strip()!r} is not a number")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        rounded = value.quantize(Decimal(1).scaleb(-places))
        if rounded != value:
            raise InvalidInput(f"{what} {raw.strip()!r} has more than {places} decimals")
        value = rounded
    if abs(value) >= limit:
        raise InvalidInput(f"{what} {raw.strip()!r} is too large")
    return value


def parse_date(raw: str, what: str) -> date:
    """A calendar date written YYYY-MM-DD (ASCII or Bangla digits)."""
    text = to_ascii_digits(raw.strip())
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise InvalidInput(f"{what} {raw.strip()!r} is not a date (write YYYY-MM-DD)") from None


def parse_instant(raw: str, what: str) -> tuple[datetime, date]:
    """An aware UTC instant and its shop-local date from an ISO date or date-time.

    A bare date is a shop-local date (the instant is its local noon); a date-time without an
    offset is shop-local time; one with an offset or Z is converted.
    """
    text = to_ascii_digits(raw.strip())
    if not text:
        raise InvalidInput(f"{what} is empty")
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return local_noon(day), day
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        raise InvalidInput(
            f"{what} {raw.strip()!r} is not a date (write YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHOP_TZ)
    try:
        instant = moment.astimezone(UTC)
        return instant, local_date(instant)
    except OverflowError:  # the first or last hours of the calendar, in another zone
        raise InvalidInput(f"{what} {raw.strip()!r} is out of range") from None


class LocalMinutes:
    """`parse_instant` made cheap for the usual shape of a file's date-times, `YYYY-MM-DDTHH:MM`.

    A large orders.csv holds ~100k distinct local date-times on a few hundred dates; parsing
    each in full (zone lookups, conversions) took about a tenth of its parsing time. Here a
    date's UTC midnight is found once and an instant is that midnight plus the time of day:
    exact on a date whose UTC offset is the same all day. A date with a clock change, like any
    other shape of text, is left to `parse_instant`.
    """

    def __init__(self, tz: ZoneInfo = SHOP_TZ) -> None:
        self.tz = tz
        self._days: dict[str, Any] = {}  # (UTC midnight, date) or None, by YYYY-MM-DD

    def parse(self, text: str) -> tuple[datetime, date] | None:
        """What `parse_instant` gives for `YYYY-MM-DDTHH:MM` local time; None for other text."""
        if len(text) != 16 or text[10] != "T":
            return None
        time_of_day = _CLOCK.get(text[11:])
        if time_of_day is None:
            return None
        day = self._days.get(text[:10], _UNSEEN)
        if day is _UNSEEN:
            day = self._day(text[:10])
        if day is None:
            return None
        midnight, local_day = day
        # a new date object for each text, as `parse_instant` gives (the same frames, to the
        # byte, for a driver that takes dates); `+ timedelta(0)` is the cheapest way to one
        return midnight + time_of_day, local_day + _NO_TIME

    def _day(self, text: str) -> tuple[datetime, date] | None:
        """The UTC midnight of a local date when its offset holds all day, else None."""
        if len(self._days) >= 10_000:  # distinct dates kept, to bound memory
            self._days.clear()
        self._days[text] = found = self._midnight(text)
        return found

    def _midnight(self, text: str) -> tuple[datetime, date] | None:
        if not _ISO_DAY.fullmatch(text):
            return None
        try:
            day = date.fromisoformat(text)
            first = datetime.combine(day, time.min, tzinfo=self.tz)
            last = datetime.combine(day, time(23, 59), tzinfo=self.tz)
            # the offsets of the date's first and last local minute and of the UTC instants
            # they are: a clock change within the date or at its edges shows in one of them
            # (zones change their clocks a few times a year at most, never twice in a day)
            offsets = {
                first.utcoffset(),
                last.utcoffset(),
                first.astimezone(UTC).astimezone(self.tz).utcoffset(),
                last.astimezone(UTC).astimezone(self.tz).utcoffset(),
            }
        except (ValueError, OverflowError):  # not a date, or at the ends of the calendar
            return None
        return (first.astimezone(UTC), day) if len(offsets) == 1 else None


def parse_yes_no(raw: str, what: str) -> bool:
    """True for yes/y/true/1/হ্যাঁ, False for no/n/false/0/না."""
    text = raw.strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InvalidInput(f"{what} {raw.strip()!r} is not yes or no")


def parse_status(raw: str) -> str:
    """An order status; blank is `delivered`."""
    text = raw.strip().lower()
    if not text:
        return "delivered"
    if text == "canceled":
        return "cancelled"
    if text not in ORDER_STATUSES:
        raise InvalidInput(f"status {raw.strip()!r} is not one of {', '.join(ORDER_STATUSES)}")
    return text


def parse_language(raw: str) -> str:
    """`bn` or `en` (also Bangla/English spelled out)."""
    text = raw.strip().lower()
    try:
        return _LANGUAGES[text]
    except KeyError:
        raise InvalidInput(f"language {raw.strip()!r} is not bn or en") from None


def money(value: Decimal) -> Decimal:
    """An amount rounded to the poisha (half up)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def text_field(raw: str, what: str, limit: int) -> str:
    """Stripped text no longer than the column allows."""
    text = raw.strip()
    if len(text) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return text
