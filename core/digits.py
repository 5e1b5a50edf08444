"""Bangla digits (০-৯) and ASCII digits, each written as the other: one table, both ways."""

from __future__ import annotations

BANGLA_DIGITS = "০১২৩৪৫৬৭৮৯"
_TO_ASCII = str.maketrans(BANGLA_DIGITS, "0123456789")
_TO_BANGLA = str.maketrans("0123456789", BANGLA_DIGITS)


def to_ascii_digits(text: str) -> str:
    """The text with every Bangla digit replaced by its ASCII digit ("৫ কেজি" → "5 কেজি").

    Other characters are kept as they are; ASCII text is returned unchanged (and fast).
    """
    if text.isascii():
        return text
    return text.translate(_TO_ASCII)


def to_bangla_digits(text: str) -> str:
    """The text with every ASCII digit written as a Bangla digit ("5 কেজি" → "৫ কেজি")."""
    return text.translate(_TO_BANGLA)
