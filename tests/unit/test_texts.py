"""Template rendering: the split-once renderer fills placeholders exactly as a regex substitution."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core.texts import localize_number, render

_FIELD = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)}")


def reference(text: str, variables: dict[str, Any], lang: str) -> str:
    """The rule as written: each `{name}` becomes its value, numbers localized, unknown ones kept."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            return match.group(0)
        val = variables[name]
        if isinstance(val, int | float | Decimal) and not isinstance(val, bool):
            return localize_number(val, lang)
        return str(val)

    return _FIELD.sub(value, text)


def test_render_fills_names_and_keeps_unknown_ones() -> None:
    text = "{product} {quantity} কিনেছেন {bought}; {missing} {{x}} {1bad}"
    got = render(text, {"product": "চাল", "quantity": 5, "bought": "১ মার্চ"}, "bn")
    assert got == "চাল ৫ কিনেছেন ১ মার্চ; {missing} {{x}} {1bad}"


names = st.sampled_from(["a", "product", "qty", "x_1", "missing"])
pieces = st.one_of(
    st.text(alphabet="ab {}_1চ।", max_size=6),
    names.map(lambda n: "{" + n + "}"),
)
values = st.one_of(
    st.text(max_size=5),
    st.integers(-5, 5000),
    st.decimals(places=3, min_value=0, max_value=10_000),
    st.booleans(),
)


@given(
    parts=st.lists(pieces, max_size=8),
    variables=st.dictionaries(st.sampled_from(["a", "product", "qty", "x_1"]), values),
    lang=st.sampled_from(["bn", "en"]),
)
def test_render_agrees_with_the_regex_substitution(
    parts: list[str], variables: dict[str, Any], lang: str
) -> None:
    text = "".join(parts)
    assert render(text, variables, lang) == reference(text, variables, lang)
