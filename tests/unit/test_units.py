"""Unit names, "৫ কেজি", and conversion to base units (g, ml, pcs) and back."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.units import (
    PRODUCT_UNITS,
    UNIT_NAMES,
    from_base,
    normalize_unit,
    parse_quantity,
    to_base,
)

D = Decimal
BANGLA = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
COMPATIBLE = {"g": ("g", "kg"), "kg": ("g", "kg"), "ml": ("ml", "l"), "l": ("ml", "l")}
COMPATIBLE["pcs"] = ("pcs",)

quantities = st.decimals(min_value=D("0.001"), max_value=D("100000"), places=3)
pack_sizes = st.decimals(min_value=D("0.001"), max_value=D("1000"), places=3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("৫ কেজি", (D(5), "kg")),
        ("2.5kg", (D("2.5"), "kg")),
        ("500 গ্রাম", (D(500), "g")),
        ("১.৫ লিটার", (D("1.5"), "l")),
        ("250 ml", (D(250), "ml")),
        ("১২ টি", (D(12), "pcs")),
        ("2 packets", (D(2), "pack")),
        ("৩ প্যাকেট", (D(3), "pack")),
        ("1,500 g", (D(1500), "g")),
        ("3", (D(3), "")),
        (" 7 PCS ", (D(7), "pcs")),
    ],
)
def test_parse_quantity(text: str, expected: tuple[Decimal, str]) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "kg", "five kg", "5 bags", "-2 kg", "1e3 g"])
def test_parse_quantity_refuses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_quantity(text)


def test_every_unit_name_maps_to_a_canonical_unit() -> None:
    assert set(UNIT_NAMES.values()) == {"g", "kg", "ml", "l", "pcs", "pack"}
    assert normalize_unit("  KG ") == "kg"
    assert normalize_unit("Litre") == "l"
    assert normalize_unit("") == ""
    with pytest.raises(InvalidInput, match="unknown unit 'bag'"):
        normalize_unit("bag")


@pytest.mark.parametrize(
    ("quantity", "unit", "pack_size", "product_unit", "expected"),
    [
        (D(1), "", D(5), "kg", (D(1000), "g")),  # blank: the product's unit (1 kg)
        (D(2), "pack", D(5), "kg", (D(10000), "g")),  # two 5 kg bags
        (D(500), "g", D(5), "kg", (D(500), "g")),
        (D("1.5"), "l", D(1), "l", (D(1500), "ml")),
        (D(3), "pack", D(12), "pcs", (D(36), "pcs")),
        (D(200), "ml", D(500), "ml", (D(200), "ml")),
    ],
)
def test_to_base(
    quantity: Decimal,
    unit: str,
    pack_size: Decimal,
    product_unit: str,
    expected: tuple[Decimal, str],
) -> None:
    assert to_base(quantity, unit, pack_size, product_unit) == expected


@pytest.mark.parametrize(
    ("unit", "product_unit", "reason"),
    [
        ("kg", "l", "measures weight, but the product is sold by volume"),
        ("ml", "g", "measures volume, but the product is sold by weight"),
        ("pcs", "kg", "measures pieces, but the product is sold by weight"),
        ("bag", "kg", "unknown unit"),
    ],
)
def test_incompatible_or_unknown_units_are_refused(
    unit: str, product_unit: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        to_base(D(1), unit, D(1), product_unit)


@given(quantities, pack_sizes, st.sampled_from(PRODUCT_UNITS), st.data())
def test_conversions_round_trip(
    quantity: Decimal, pack_size: Decimal, product_unit: str, data: st.DataObject
) -> None:
    unit = data.draw(st.sampled_from(("", "pack", *COMPATIBLE[product_unit])))
    base, base_unit = to_base(quantity, unit, pack_size, product_unit)
    assert base_unit in ("g", "ml", "pcs")
    assert from_base(base, unit, pack_size, product_unit) == quantity


@given(quantities, st.sampled_from(PRODUCT_UNITS))
def test_the_same_amount_in_any_compatible_unit_has_the_same_base(
    quantity: Decimal, product_unit: str
) -> None:
    big = {"g": "kg", "ml": "l"}
    for small, large in big.items():
        if small in COMPATIBLE[product_unit]:
            grams = to_base(quantity * 1000, small, D(1), product_unit)
            assert grams == to_base(quantity, large, D(1), product_unit)


@given(quantities, st.sampled_from(["kg", "কেজি", "লিটার", "গ্রাম", "টি", "প্যাকেট"]))
def test_bangla_digits_and_names_parse_like_ascii(quantity: Decimal, name: str) -> None:
    text = f"{quantity} {name}"
    assert parse_quantity(text.translate(BANGLA)) == parse_quantity(text)
    assert parse_quantity(text)[0] == quantity


@given(st.text(max_size=40))
def test_arbitrary_text_only_ever_raises_invalid_input(text: str) -> None:
    for call in (
        lambda: parse_quantity(text),
        lambda: normalize_unit(text),
        lambda: to_base(D(1), text, D(1), "kg"),
    ):
        with contextlib.suppress(InvalidInput):
            call()
