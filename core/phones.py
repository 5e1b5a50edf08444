"""Bangladeshi mobile numbers to E.164 (`+8801XXXXXXXXX`), from any form people type.

Accepted: `01XXXXXXXXX`, `1XXXXXXXXX`, `8801…`, `+880…`, `00880…`, with spaces, dashes, dots or
parentheses, in ASCII or Bangla digits. Anything that is not a valid Bangladeshi *mobile* number
(a landline, a foreign number, a wrong length) raises `InvalidInput` with the reason.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from core.digits import to_ascii_digits
from core.errors import InvalidInput

REGION = "BD"
COUNTRY_CODE = 880
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
_SEPARATORS = re.compile(r"[\s\-.()\u200c\u200d]+")
# The common shapes, answered without the (slow) general parser; a property test checks that
# this shortcut agrees with phonenumbers on every input.
_FAST = re.compile(r"(?:\+?880|0)?(1[13-9]\d{8})")
# The same shapes typed plainly (ASCII digits, no separators): such a text is its own cleaned
# form, so the strip, digit translation and separator removal can be skipped. Three numbers in
# four of the benchmark's ERP export are written so (its orders.csv normalises ~200k of them).
_PLAIN = re.compile(r"(?:\+?880|0)?(1[13-9][0-9]{8})")


def normalize_phone(raw: str) -> str:
    """The E.164 form of a Bangladeshi mobile number, or InvalidInput saying why not."""
    plain = _PLAIN.fullmatch(raw)
    if plain:
        return f"+880{plain.group(1)}"
    text = _SEPARATORS.sub("", to_ascii_digits(raw.strip()))
    if not text:
        raise InvalidInput("phone number is empty")
    fast = _FAST.fullmatch(text)
    if fast:
        return f"+880{fast.group(1)}"
    return _parse(raw, text)


def _parse(raw: str, text: str) -> str:
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException as exc:
        raise InvalidInput(f"phone number {raw!r} is not a phone number ({exc._msg})") from None
    if number.country_code != COUNTRY_CODE:
        raise InvalidInput(
            f"phone number {raw!r} is not Bangladeshi (country code +{number.country_code})"
        )
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            f"phone number {raw!r} is not a valid Bangladeshi number "
            "(a mobile number is 01 and 9 more digits)"
        )
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidInput(f"phone number {raw!r} is a landline, not a mobile number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def is_valid_phone(raw: str) -> bool:
    """Whether `normalize_phone` would accept the text."""
    try:
        normalize_phone(raw)
    except InvalidInput:
        return False
    return True
