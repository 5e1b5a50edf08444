"""Parsing one value of an import row: numbers, dates, instants, yes/no, status, language.

Every parser takes the raw text (ASCII or Bangla digits) and returns a value or raises
InvalidInput with a reason a shop manager can act on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.clock import SHOP_TZ, local_date, local_noon
from core.digits import to_ascii_digits
from core.errors import InvalidInput
from core.models.orders import ORDER_STATUSES

CENT = Decimal("0.01")
THOUSANDTH = Decimal("0.001")
_YES = frozenset({"yes", "y", "true", "1", "হ্যাঁ", "হ্যা", "হাঁ", "জি", "opt_in", "opt-in"})
_NO = frozenset({"no", "n", "false", "0", "না", "opt_out", "opt-out"})
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
    instant = moment.astimezone(UTC)
    return instant, local_date(instant)


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
