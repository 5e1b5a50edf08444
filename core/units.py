"""Units of quantity: names in English and Bangla, parsing "৫ কেজি", conversion to base units.

Canonical units are `g`, `kg`, `ml`, `l`, `pcs` and `pack` (packs of the product, each of the
product's pack size). Base units, in which quantities are compared and consumption is computed,
are `g` (mass), `ml` (volume) and `pcs` (count).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from core.digits import to_ascii_digits
from core.errors import InvalidInput

UNIT_NAMES: dict[str, str] = {
    # mass
    "g": "g", "gm": "g", "gms": "g", "gr": "g", "gram": "g", "grams": "g", "gramme": "g",
    "গ্রাম": "g", "গ্রা": "g",
    "kg": "kg", "kgs": "kg", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
    "কেজি": "kg", "কিলো": "kg", "কিলোগ্রাম": "kg",
    # volume
    "ml": "ml", "mls": "ml", "millilitre": "ml", "milliliter": "ml", "millilitres": "ml",
    "milliliters": "ml", "মিলি": "ml", "মিলিলিটার": "ml", "এমএল": "ml",
    "l": "l", "lt": "l", "ltr": "l", "ltrs": "l", "litre": "l", "liter": "l", "litres": "l",
    "liters": "l", "লিটার": "l", "লি": "l",
    # count
    "pcs": "pcs", "pc": "pcs", "piece": "pcs", "pieces": "pcs", "pce": "pcs", "ea": "pcs",
    "টি": "pcs", "টা": "pcs", "পিস": "pcs",
    # packs of the product
    "pack": "pack", "packs": "pack", "packet": "pack", "packets": "pack", "pkt": "pack",
    "প্যাকেট": "pack", "প্যাক": "pack",
}  # fmt: skip

UNITS = ("g", "kg", "ml", "l", "pcs", "pack")
PRODUCT_UNITS = ("g", "kg", "ml", "l", "pcs")
BASE_UNITS = ("g", "ml", "pcs")
# unit -> (base unit, how many base units one unit is)
_TO_BASE: dict[str, tuple[str, Decimal]] = {
    "g": ("g", Decimal(1)),
    "kg": ("g", Decimal(1000)),
    "ml": ("ml", Decimal(1)),
    "l": ("ml", Decimal(1000)),
    "pcs": ("pcs", Decimal(1)),
}
_DIMENSION = {"g": "weight", "ml": "volume", "pcs": "pieces"}
# a number (thousands may be grouped with commas: 1,500) and an optional unit name after it
_QUANTITY = re.compile(
    r"\s*([0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(.*?)\s*"
)


def normalize_unit(raw: str) -> str:
    """The canonical unit for a unit name ("কেজি" → "kg"); blank gives ""; unknown: InvalidInput."""
    key = raw.strip().lower().rstrip(".")
    if not key:
        return ""
    try:
        return UNIT_NAMES[key]
    except KeyError:
        known = ", ".join(UNITS)
        raise InvalidInput(f"unknown unit {raw.strip()!r} (use one of {known})") from None


def parse_quantity(text: str) -> tuple[Decimal, str]:
    """A quantity and its canonical unit from text such as "৫ কেজি", "2.5kg" or "3" (unit "")."""
    match = _QUANTITY.fullmatch(to_ascii_digits(text))
    if not match:
        raise InvalidInput(f"{text.strip()!r} is not a quantity (write e.g. 5 kg or ৫ কেজি)")
    number, unit = match.groups()
    try:
        quantity = Decimal(number.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
        raise InvalidInput(f"{text.strip()!r} is not a quantity") from None
    return quantity, normalize_unit(unit)


def base_unit_of(unit: str) -> str:
    """The base unit (g, ml, pcs) a canonical product unit converts to."""
    try:
        return _TO_BASE[unit][0]
    except KeyError:
        raise InvalidInput(f"{unit!r} is not a product unit (use g, kg, ml, l or pcs)") from None


def to_base(
    quantity: Decimal, unit: str, pack_size: Decimal, product_unit: str
) -> tuple[Decimal, str]:
    """The quantity in the product's base unit (g, ml or pcs).

    `quantity` is expressed in `unit`; a blank unit is the product's unit; `pack` means packs
    of the product, each `pack_size` of `product_unit`. A unit of another dimension than the
    product's (kg of an oil sold in l) raises InvalidInput.
    """
    product_base, product_factor = _factor(product_unit)
    if not unit:
        unit = product_unit
    if unit == "pack":
        return quantity * pack_size * product_factor, product_base
    base, factor = _factor(unit)
    if base != product_base:
        raise InvalidInput(
            f"unit {unit!r} measures {_DIMENSION[base]}, but the product is sold by "
            f"{_DIMENSION[product_base]} ({product_unit})"
        )
    return quantity * factor, base


def from_base(base_quantity: Decimal, unit: str, pack_size: Decimal, product_unit: str) -> Decimal:
    """The inverse of `to_base`: a base quantity expressed in `unit` (blank: the product's unit)."""
    product_base, product_factor = _factor(product_unit)
    if not unit:
        unit = product_unit
    if unit == "pack":
        return base_quantity / (pack_size * product_factor)
    base, factor = _factor(unit)
    if base != product_base:
        raise InvalidInput(f"unit {unit!r} does not measure {product_unit!r}")
    return base_quantity / factor


def _factor(unit: str) -> tuple[str, Decimal]:
    try:
        return _TO_BASE[unit]
    except KeyError:
        raise InvalidInput(f"unknown unit {unit!r} (use one of {', '.join(UNITS)})") from None
