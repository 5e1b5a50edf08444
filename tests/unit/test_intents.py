"""Intent parsing of customers' replies: Bangla, Banglish, English, digits and number words."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.digits import to_bangla_digits
from core.intents import OPT_OUT_WORDS, normalize, parse_intent


@pytest.mark.parametrize(
    "text",
    ["হ্যাঁ", "হ্যা", "জি", "জ্বি", "ঠিক আছে", "ok", "OK", "yes", "Yes!", "y", "1", "আবার দিন"],
)
def test_yes_words_reorder(text: str) -> None:
    assert parse_intent(text).kind == "reorder"


@pytest.mark.parametrize("text", ["না", "no", "No.", "2", "লাগবে না", "না ভাই, এখন না"])
def test_no_words_decline(text: str) -> None:
    assert parse_intent(text).kind == "decline"


@pytest.mark.parametrize(
    ("text", "quantity", "unit"),
    [
        ("হ্যাঁ ৫ কেজি", Decimal(5), "kg"),
        ("৫ কেজি", Decimal(5), "kg"),
        ("2 kg", Decimal(2), "kg"),
        ("yes 2kg", Decimal(2), "kg"),
        ("দুই প্যাকেট", Decimal(2), "pack"),
        ("জি, তিন লিটার দিন", Decimal(3), "l"),
        ("হ্যাঁ দশ কেজি", Decimal(10), "kg"),
        ("ok 1.5 kg", Decimal("1.5"), "kg"),
        ("হ্যাঁ", None, None),
    ],
)
def test_quantities(text: str, quantity: Decimal | None, unit: str | None) -> None:
    intent = parse_intent(text)
    assert (intent.kind, intent.quantity, intent.unit) == ("reorder", quantity, unit)


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop! ", "বন্ধ", "unsubscribe", "UNSUBSCRIBE"])
def test_opt_out_as_whole_message(text: str) -> None:
    assert parse_intent(text).kind == "opt_out"


@pytest.mark.parametrize(
    "text",
    [
        "stop sending rice?",
        "please stop",
        "বন্ধ করবেন না",
        "দোকান কবে বন্ধ?",
        "unsubscribe me later maybe",
    ],
)
def test_stop_inside_a_sentence_is_not_an_opt_out(text: str) -> None:
    assert parse_intent(text).kind != "opt_out"


def test_start_help_and_other() -> None:
    assert parse_intent("START").kind == "opt_in"
    assert parse_intent("help").kind == "help"
    assert parse_intent("আমার অর্ডার কোথায়?").kind == "other"
    assert parse_intent("").kind == "other"


@given(st.text(max_size=200))
def test_never_crashes(text: str) -> None:
    intent = parse_intent(text)
    assert intent.kind in ("reorder", "decline", "opt_out", "opt_in", "help", "other")
    if intent.quantity is not None:
        assert Decimal(0) < intent.quantity <= 1000


@given(st.text(max_size=100))
def test_opt_out_only_when_the_whole_message_is_a_stop_word(text: str) -> None:
    if parse_intent(text).kind == "opt_out":
        assert normalize(text) in OPT_OUT_WORDS


@given(st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=40))
def test_stop_followed_by_more_words_is_never_an_opt_out(tail: str) -> None:
    if normalize(tail):
        assert parse_intent(f"stop {tail}").kind != "opt_out"
        assert (
            parse_intent(f"{tail} বন্ধ").kind != "opt_out"
            or normalize(f"{tail} বন্ধ") in OPT_OUT_WORDS
        )


@given(st.integers(min_value=1, max_value=999), st.sampled_from(["কেজি", "kg", "প্যাকেট", "লিটার"]))
def test_bangla_and_ascii_digits_parse_alike(n: int, unit: str) -> None:
    ascii_intent = parse_intent(f"হ্যাঁ {n} {unit}")
    bangla_intent = parse_intent(f"হ্যাঁ {to_bangla_digits(str(n))} {unit}")
    assert ascii_intent == bangla_intent
    assert bangla_intent.quantity == Decimal(n)
