"""SQL building blocks shared by the KPIs: a portable day difference, day bounds and safe ratios."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from core.clock import start_of_day
from core.models.orders import COUNTED_STATUSES

CENT = Decimal("0.01")
# Re-exported so every KPI reads "counted orders" from one name.
COUNTED = COUNTED_STATUSES


class day_span(FunctionElement[int]):  # noqa: N801 - SQL function naming
    """Whole days from the first date expression to the second (``later - earlier``)."""

    type = Integer()
    inherit_cache = True
    name = "day_span"


@compiles(day_span, "sqlite")
def _day_span_sqlite(element: day_span, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


@compiles(day_span, "postgresql")
def _day_span_postgresql(element: day_span, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC half-open interval [start of `first`, start of the day after `last`) in shop time."""
    return start_of_day(first), start_of_day(last + timedelta(days=1))


def ratio(numerator: int | float, denominator: int | float) -> float:
    """numerator / denominator, or 0.0 when there is nothing to divide by."""
    return float(numerator) / float(denominator) if denominator else 0.0


def money(value: Any) -> Decimal:
    """A SQL money aggregate (Decimal, float on SQLite, or NULL) as Decimal taka with paisa."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
