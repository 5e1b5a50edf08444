"""Wording shared by the cadence's tasks and messages: quantities, dates and lists, Bangla first."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from core.digits import to_bangla_digits

MONTHS_BN = (
    "জানুয়ারি", "ফেব্রুয়ারি", "মার্চ", "এপ্রিল", "মে", "জুন",
    "জুলাই", "আগস্ট", "সেপ্টেম্বর", "অক্টোবর", "নভেম্বর", "ডিসেম্বর",
)  # fmt: skip
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
UNIT_BN = {"g": "গ্রাম", "kg": "কেজি", "ml": "মিলি", "l": "লিটার", "pcs": "টি"}
UNIT_EN = {"g": "g", "kg": "kg", "ml": "ml", "l": "l", "pcs": "pcs"}
# A base quantity this large reads better in the bigger unit (5000 g → 5 kg).
_BIGGER = {"g": "kg", "ml": "l"}
# A pack size at the end of a product name: "Miniket rice 5 kg", "মিনিকেট চাল ৫ কেজি", "Eggs 12 pcs".
_PACK_SUFFIX = re.compile(
    r"[\s,(-]*[0-9০-৯]+(?:[.,][0-9০-৯]+)?\s*"
    r"(?:kg|g|gm|gram|grams|l|ltr|litre|liter|ml|pcs|pc|piece|pieces"
    r"|কেজি|গ্রাম|লিটার|মিলি|টি|পিস)\.?\)?\s*$",
    re.IGNORECASE,
)


def _number(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def quantity_text(base_quantity: Decimal | float | int, base_unit: str, lang: str) -> str:
    """A base quantity as a person says it: "৫ কেজি", "২০০ গ্রাম", "১২টি"; "5 kg" in English."""
    qty = Decimal(str(base_quantity))
    unit = base_unit
    if unit in _BIGGER and qty >= 1000:
        qty, unit = qty / 1000, _BIGGER[unit]
    number = _number(qty)
    if lang == "bn":
        sep = "" if unit == "pcs" else " "
        return f"{to_bangla_digits(number)}{sep}{UNIT_BN[unit]}"
    return f"{number} {UNIT_EN[unit]}"


def product_text(name: str) -> str:
    """A product name without its pack size, for a sentence that states the quantity bought:
    "Miniket rice 5 kg" → "Miniket rice" (so a reason reads "Miniket rice 10 kg", not "… 5 kg 10 kg")."""
    bare = _PACK_SUFFIX.sub("", name).strip()
    return bare or name


def day_text(day: date, lang: str) -> str:
    """A date without the year: "২৩ মার্চ" / "23 March"."""
    if lang == "bn":
        return f"{to_bangla_digits(str(day.day))} {MONTHS_BN[day.month - 1]}"
    return f"{day.day} {MONTHS_EN[day.month - 1]}"


def join_names(names: Sequence[str], lang: str) -> str:
    """A list as prose: "চাল, ডাল ও তেল" / "rice, lentils and oil"."""
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    last = " ও " if lang == "bn" else " and "
    return ", ".join(items[:-1]) + last + items[-1]
