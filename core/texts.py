"""Text helpers for Bangla-first messages: digits, money, and template rendering."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from core.digits import to_bangla_digits


def localize_number(value: Any, lang: str) -> str:
    """A number as people read it: Bangla digits in Bangla, no trailing zeros."""
    if isinstance(value, Decimal | float):
        value = Decimal(str(value)).normalize()
        text = f"{value:f}"
    else:
        text = str(value)
    return to_bangla_digits(text) if lang == "bn" else text


def money(amount: Any, lang: str) -> str:
    """Taka with thousands separators: ৳১২,৫০০ in Bangla, ৳12,500 in English."""
    value = Decimal(str(amount or 0)).quantize(Decimal(1))
    text = f"৳{value:,}"
    return to_bangla_digits(text) if lang == "bn" else text


_FIELD = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)}")


def template_fields(text: str) -> list[str]:
    """The `{name}` placeholders of a template, in order, without repeats."""
    seen: list[str] = []
    for _, name, _, _ in string.Formatter().parse(text):
        if name and name not in seen:
            seen.append(name)
    return seen


@lru_cache(maxsize=1024)
def _pieces(text: str) -> tuple[str, ...]:
    """A template split at its placeholders: literal, name, literal, name, …, literal."""
    return tuple(_FIELD.split(text))


def render(text: str, variables: Mapping[str, Any], lang: str) -> str:
    """Fill `{name}` placeholders; numbers take the language's digits; missing names stay visible."""
    pieces = _pieces(text)
    out = list(pieces)
    for i in range(1, len(pieces), 2):  # the odd pieces are the placeholders' names
        name = pieces[i]
        if name not in variables:
            out[i] = f"{{{name}}}"
            continue
        val = variables[name]
        if isinstance(val, int | float | Decimal) and not isinstance(val, bool):
            out[i] = localize_number(val, lang)
        else:
            out[i] = str(val)
    return "".join(out)


MONTHS_BN = (
    "জানুয়ারি",
    "ফেব্রুয়ারি",
    "মার্চ",
    "এপ্রিল",
    "মে",
    "জুন",
    "জুলাই",
    "আগস্ট",
    "সেপ্টেম্বর",
    "অক্টোবর",
    "নভেম্বর",
    "ডিসেম্বর",
)


def format_date(day: Any, lang: str) -> str:
    """A date as people write it: "২৩ মার্চ ২০২৬" in Bangla, "23 Mar 2026" in English."""
    if lang == "bn":
        return to_bangla_digits(f"{day.day} {MONTHS_BN[day.month - 1]} {day.year}")
    return f"{day.day} {day:%b %Y}"
