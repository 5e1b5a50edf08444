"""Bangla digits (০-৯) as ASCII digits, for parsing what people and the ERP write."""

from __future__ import annotations

BANGLA_DIGITS = "০১২৩৪৫৬৭৮৯"
_TO_ASCII = str.maketrans(BANGLA_DIGITS, "0123456789")


def to_ascii_digits(text: str) -> str:
    """The text with every Bangla digit replaced by its ASCII digit ("৫ কেজি" → "5 কেজি").

    Other characters are kept as they are; ASCII text is returned unchanged (and fast).
    """
    if text.isascii():
        return text
    return text.translate(_TO_ASCII)
