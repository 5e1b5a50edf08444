"""Bangladeshi mobile numbers to E.164: every accepted form, and only InvalidInput otherwise."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.digits import to_ascii_digits
from core.errors import InvalidInput
from core.phones import normalize_phone

BANGLA = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
# operators' prefixes after the leading 0: 011 and 013-019 are mobile ranges
national = st.builds(
    lambda op, rest: f"1{op}{rest:08d}",
    st.sampled_from("13456789"),
    st.integers(min_value=0, max_value=10**8 - 1),
)


def _forms(n: str) -> list[str]:
    return [
        "0" + n,
        n,
        "880" + n,
        "+880" + n,
        "00880" + n,
        "+880 " + n[:4] + "-" + n[4:],
        "0" + n[:4] + " " + n[4:7] + " " + n[7:],
        "(+880) " + n,
        "0" + n[:4] + "-" + n[4:],
        ("0" + n).translate(BANGLA),
        ("+880" + n).translate(BANGLA),
        " 0" + n + " ",
    ]


@given(national, st.data())
def test_every_accepted_form_gives_the_same_e164(n: str, data: st.DataObject) -> None:
    form = data.draw(st.sampled_from(_forms(n)))
    assert normalize_phone(form) == "+880" + n


@given(national)
def test_the_result_is_what_phonenumbers_calls_a_valid_bangladeshi_mobile(n: str) -> None:
    parsed = phonenumbers.parse(normalize_phone("0" + n), None)
    assert phonenumbers.is_valid_number(parsed)
    assert parsed.country_code == 880
    assert phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


@given(st.text(max_size=30))
@example("")
@example("+")
@example("০")
@example("+1 202 555 0123")
def test_arbitrary_text_is_normalised_or_refused_with_invalid_input(text: str) -> None:
    try:
        result = normalize_phone(text)
    except InvalidInput as exc:
        assert str(exc)
    else:
        assert result.startswith("+8801") and len(result) == 14


near_misses = st.builds(
    lambda prefix, head, rest: prefix + head + rest,
    st.sampled_from(["", "0", "00", "880", "+880", "+8800", "00880", "+88", "+1"]),
    st.sampled_from(["1", "10", "11", "12", "13", "15", "17", "19", "2", "9"]),
    st.text(alphabet="0123456789", min_size=6, max_size=11),
)


@given(st.one_of(st.text(alphabet="0123456789+ -০১২৩৪৫৬৭৮৯", max_size=18), near_misses))
def test_the_shortcut_agrees_with_phonenumbers(text: str) -> None:
    """The fast path for the usual shapes must say exactly what phonenumbers says."""
    digits = to_ascii_digits(text).replace(" ", "").replace("-", "")
    try:
        number = phonenumbers.parse(digits, "BD")
        expected = (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(number)
            and number.country_code == 880
            and phonenumbers.number_type(number)
            in (
                phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            )
            else None
        )
    except phonenumbers.NumberParseException:
        expected = None
    try:
        got: str | None = normalize_phone(text)
    except InvalidInput:
        got = None
    assert got == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("0171123456", "not a valid Bangladeshi number"),
        ("017112345678", "not a valid Bangladeshi number"),
        ("+1 202 555 0123", "not Bangladeshi"),
        ("02-9123456", "landline"),
        ("phone", "not a phone number"),
    ],
)
def test_refusals_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        normalize_phone(raw)


def test_bangla_digits_become_ascii_and_the_rest_stays() -> None:
    assert to_ascii_digits("০১৭১১-২৩৪৫৬৭") == "01711-234567"
    assert to_ascii_digits("৫ কেজি") == "5 কেজি"
    assert to_ascii_digits("plain 42") == "plain 42"
