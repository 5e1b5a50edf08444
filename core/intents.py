"""What a customer's reply means: reorder, decline, opt-out, opt-in, help, or something for an agent.

Bangla, Banglish and English; Bangla digits and number words ("দুই প্যাকেট") give quantities.
Opt-out and opt-in words count only as the WHOLE message: "stop sending rice?" is a question
for an agent, not an unsubscribe. A pure function of the text (no database, no clock).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from core.digits import to_ascii_digits

IntentKind = Literal["reorder", "decline", "opt_out", "opt_in", "help", "other"]

OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "বন্ধ", "বন্ধ করুন", "বন্ধ করো", "বন্ধ কর"})
OPT_IN_WORDS = frozenset({"start", "unstop", "চালু", "চালু করুন", "আবার চালু"})
HELP_WORDS = frozenset({"help", "info", "সাহায্য", "হেল্প"})
# whole-message menu answers: "1" yes, "2" no
_MENU = {"1": "reorder", "2": "decline"}

YES_WORDS = frozenset(
    {
        "হ্যাঁ", "হ্যা", "হা", "হাঁ", "জি", "জ্বি", "জী", "জ্বী", "ওকে", "দিন", "পাঠান",
        "ok", "okay", "okey", "yes", "y", "yeah", "yep", "sure", "ha", "haa", "hae", "hya",
        "ji", "jee", "jii", "thik", "dao", "din",
    }
)  # fmt: skip
YES_PHRASES: tuple[str, ...] = (
    "ঠিক আছে",
    "আবার দিন",
    "আবার পাঠান",
    "thik ache",
    "abar din",
    "abar den",
)
NO_WORDS = frozenset({"না", "নাহ", "no", "n", "nope", "nah", "na"})
NO_PHRASES: tuple[str, ...] = ("লাগবে না", "দরকার নেই", "চাই না", "lagbe na", "not now", "no thanks")

NUMBER_WORDS: dict[str, int] = {
    # Bangla
    "এক": 1, "একটা": 1, "একটি": 1, "দুই": 2, "দুটো": 2, "দুটা": 2, "দুটি": 2, "তিন": 3,
    "তিনটা": 3, "চার": 4, "চারটা": 4, "পাঁচ": 5, "ছয়": 6, "ছয়টা": 6,
    "সাত": 7, "আট": 8, "নয়": 9, "দশ": 10, "এগারো": 11, "বারো": 12,
    "আধা": 0, "হাফ": 0,
    # Banglish
    "ek": 1, "dui": 2, "tin": 3, "char": 4, "panch": 5, "pach": 5, "choy": 6, "chhoy": 6,
    "sat": 7, "shat": 7, "at": 8, "noy": 9, "dosh": 10, "dos": 10,
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_HALF = {"আধা", "হাফ"}

UNITS: dict[str, str] = {
    "কেজি": "kg", "কেজিঃ": "kg", "kg": "kg", "kgs": "kg", "kilo": "kg", "keji": "kg",
    "গ্রাম": "g", "g": "g", "gm": "g", "gram": "g", "grams": "g",
    "লিটার": "l", "l": "l", "liter": "l", "litre": "l", "ltr": "l",
    "প্যাকেট": "pack", "packet": "pack", "pack": "pack", "pkt": "pack", "packets": "pack",
    "পিস": "pcs", "pcs": "pcs", "piece": "pcs", "pieces": "pcs", "টা": "pcs", "টি": "pcs",
    "বোতল": "bottle", "bottle": "bottle", "ডজন": "dozen", "dozen": "dozen",
}  # fmt: skip


def _nfc(words: frozenset[str] | tuple[str, ...]) -> frozenset[str]:
    return frozenset(unicodedata.normalize("NFC", w) for w in words)


# Bangla letters with nukta (য়, ড়) have two spellings; compare everything in NFC.
OPT_OUT_WORDS, OPT_IN_WORDS, HELP_WORDS = map(_nfc, (OPT_OUT_WORDS, OPT_IN_WORDS, HELP_WORDS))
YES_WORDS, NO_WORDS = _nfc(YES_WORDS), _nfc(NO_WORDS)
YES_PHRASES = tuple(_nfc(YES_PHRASES))
NO_PHRASES = tuple(_nfc(NO_PHRASES))
NUMBER_WORDS = {unicodedata.normalize("NFC", k): v for k, v in NUMBER_WORDS.items()}
_HALF = set(_nfc(tuple(_HALF)))
UNITS = {unicodedata.normalize("NFC", k): v for k, v in UNITS.items()}

_LONE_DOT = re.compile(r"(?<![0-9])\.|\.(?![0-9])")  # keep the point of "1.5"
_PUNCT = re.compile(r"[!?,;:।\"'“”‘’()\[\]{}*~_\-/\\|]+")
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([^0-9.]*)$")


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    quantity: Decimal | None = None
    unit: str | None = None  # kg, g, l, pack, pcs, bottle, dozen (None when not said)


def normalize(text: str) -> str:
    """Lower-cased, NFC, ASCII digits, punctuation as spaces, single spaces, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = to_ascii_digits(text).casefold()
    text = text.replace("\u200c", "").replace("\u200d", "")
    text = _PUNCT.sub(" ", _LONE_DOT.sub(" ", text))
    return _SPACES.sub(" ", text).strip()


def _number(token: str) -> tuple[Decimal | None, str | None]:
    """A quantity token: "5", "2.5", "5kg", "দুই" → (value, unit glued to it)."""
    if token in NUMBER_WORDS:
        if token in _HALF:
            return Decimal("0.5"), None
        return Decimal(NUMBER_WORDS[token]), None
    match = _NUMBER.match(token)
    if not match:
        return None, None
    try:
        value = Decimal(match.group(1))
    except InvalidOperation:
        return None, None
    glued = match.group(2)
    if glued and glued not in UNITS:
        return None, None
    return value, UNITS.get(glued) if glued else None


def parse_quantity(tokens: list[str]) -> tuple[Decimal | None, str | None]:
    """The first quantity in the tokens with its unit ("৫ কেজি", "2kg", "দুই প্যাকেট")."""
    for i, token in enumerate(tokens):
        value, unit = _number(token)
        if value is None or value <= 0 or value > 1000:
            continue
        if unit is None and i + 1 < len(tokens) and tokens[i + 1] in UNITS:
            unit = UNITS[tokens[i + 1]]
        # a bare number word without a unit is too ambiguous ("at" is English, "tin" a can)
        if unit is None and token in NUMBER_WORDS and not _is_bangla(token):
            continue
        return value, unit
    return None, None


def _is_bangla(token: str) -> bool:
    return any("\u0980" <= ch <= "\u09ff" for ch in token)


def _has_phrase(text: str, phrases: tuple[str, ...]) -> bool:
    padded = f" {text} "
    return any(f" {p} " in padded for p in phrases)


def parse_intent(text: str) -> Intent:
    """The intent of one inbound message."""
    norm = normalize(text)
    if not norm:
        return Intent("other")
    if norm in OPT_OUT_WORDS:
        return Intent("opt_out")
    if norm in OPT_IN_WORDS:
        return Intent("opt_in")
    if norm in HELP_WORDS:
        return Intent("help")
    if norm in _MENU:
        return Intent(_MENU[norm])  # type: ignore[arg-type]
    tokens = norm.split(" ")
    says_no = _has_phrase(norm, NO_PHRASES) or any(t in NO_WORDS for t in tokens)
    says_yes = _has_phrase(norm, YES_PHRASES) or tokens[0] in YES_WORDS
    quantity, unit = parse_quantity(tokens)
    if says_no and not says_yes:
        return Intent("decline")
    if says_yes and not says_no:
        return Intent("reorder", quantity, unit)
    if quantity is not None and not says_no and len(tokens) <= 4 and unit is not None:
        return Intent("reorder", quantity, unit)
    return Intent("other")


def describe_quantity(quantity: Decimal | None, unit: str | None, lang: str) -> str | None:
    """A quantity as the customer would read it ("৫ কেজি" / "5 kg"), None when not given."""
    if quantity is None:
        return None
    number = f"{quantity.normalize():f}"
    names_bn = {"kg": "কেজি", "g": "গ্রাম", "l": "লিটার", "pack": "প্যাকেট", "pcs": "পিস"}
    names_bn |= {"bottle": "বোতল", "dozen": "ডজন"}
    if lang == "bn":
        number = number.translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
        return f"{number} {names_bn[unit]}" if unit else number
    return f"{number} {unit}" if unit else number
