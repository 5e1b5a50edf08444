"""What parsing hands to writing: products as the parser sees them, order drafts, driver rows.

An order draft is one order of the file, validated, with its lines. `DriverRows` adds to each
draft its values as the database driver takes them (see core.bulk.DriverValues), so that this
work is done where parsing is done: in the parser process, for a large file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.bulk import DriverValues
from core.errors import InvalidInput
from core.units import to_base

_CACHE_LIMIT = 100_000  # distinct values kept per conversion cache, to bound memory


@dataclass(slots=True)
class ProductInfo:
    """What parsing a line needs to know of a product."""

    id: int
    sku: str
    unit: str
    pack_size: Decimal
    factors: dict[str, Decimal]  # line unit ("" = product unit) -> base units per 1


def product_info(product_id: int, sku: str, unit: str, pack_size: Decimal) -> ProductInfo:
    """A product's lookup entry, with the factor to base units of every compatible unit."""
    factors: dict[str, Decimal] = {}
    for candidate in ("", "g", "kg", "ml", "l", "pcs", "pack"):
        try:
            factors[candidate] = to_base(Decimal(1), candidate, pack_size, unit)[0]
        except InvalidInput:
            continue
    return ProductInfo(product_id, sku, unit, pack_size, factors)


# An order line's values: (product id, quantity, unit, base quantity, unit price, amount).
# A tuple, not an object: a file repeats the same lines over and over, and they are cached.
Item = tuple[int, Decimal, str, Decimal, Decimal, Decimal]


@dataclass(slots=True)
class OrderDraft:
    """One order of the input, validated; its lines are (line number, item)."""

    external_id: str
    line: int  # first line (CSV line number or JSON index)
    header: tuple[str, ...]  # raw header values, to check every line agrees
    phone: str | None
    customer_ref: str | None
    ordered_at: datetime
    order_date: date
    status: str
    coupon_code: str | None
    lines: list[tuple[int, Item]] = field(default_factory=list)  # (line, item)
    items: set[Item] = field(default_factory=set)
    total: Decimal = Decimal(0)  # the sum of the lines' amounts, kept as lines are added
    # as the driver takes them (DriverRows): (ordered_at, order_date, status, total,
    # coupon_code), and (product_id, quantity, unit, base_quantity, unit_price, amount) a line
    row: tuple[Any, ...] | None = None
    line_rows: list[tuple[Any, ...]] | None = None

    def add_line(self, line: int, item: Item) -> None:
        """Append a validated line (the caller has checked it is not a repeat)."""
        self.items.add(item)
        self.lines.append((line, item))
        self.total += item[5]

    def set_lines(self, lines: list[tuple[int, Item]]) -> None:
        """Replace the lines (and so the total)."""
        self.lines[:] = lines
        self.total = sum((item[5] for _, item in lines), Decimal(0))
        self.row = self.line_rows = None

    def to_wire(self) -> tuple[Any, ...]:
        """The draft as a plain tuple, cheap to pickle (what the writer needs, not the checks)."""
        return (
            self.external_id, self.line, self.phone, self.customer_ref, self.ordered_at,
            self.order_date, self.status, self.coupon_code, self.lines, self.total, self.row,
            self.line_rows,
        )  # fmt: skip

    @classmethod
    def from_wire(cls, wire: tuple[Any, ...]) -> OrderDraft:
        """The draft `to_wire` sent (without the raw header and the duplicate check's set)."""
        external_id, line, phone, ref, at, day, status, coupon, lines, total, row, line_rows = wire
        return cls(
            external_id, line, (), phone, ref, at, day, status, coupon, lines, total=total,
            row=row, line_rows=line_rows,
        )  # fmt: skip

    def first_line_of(self, item: Item) -> int | None:
        """The line that already holds this very item, if any (a duplicate line)."""
        for line, other in self.lines:
            if other == item:
                return line
        return None


class DriverRows:
    """Drafts' values as the database driver takes them, each distinct value converted once."""

    def __init__(self, native: bool) -> None:
        self.values = DriverValues(native)
        self._items: dict[Item, tuple[Any, ...]] = {}
        self._instants: dict[datetime, Any] = {}
        self._days: dict[date, Any] = {}

    def prepare(self, drafts: list[OrderDraft]) -> None:
        """Set each draft's `row` and `line_rows`."""
        decimal = self.values.decimal
        instants, days = self._instants, self._days
        for d in drafts:
            at = instants.get(d.ordered_at)
            if at is None:
                if len(instants) > _CACHE_LIMIT:
                    instants.clear()
                at = instants[d.ordered_at] = self.values.instant(d.ordered_at)
            day = days.get(d.order_date)
            if day is None:
                day = days[d.order_date] = self.values.day(d.order_date)
            d.row = (at, day, d.status, decimal(d.total), d.coupon_code)
            d.line_rows = self.lines([item for _, item in d.lines])

    def lines(self, items: list[Item]) -> list[tuple[Any, ...]]:
        """Order lines' values (without order id and line number) for the driver."""
        converted = self._items
        rows = []
        for item in items:
            values = converted.get(item)
            if values is None:
                if len(converted) > _CACHE_LIMIT:
                    converted.clear()
                decimal = self.values.decimal
                pid, quantity, unit, base, price, amount = item
                values = (pid, decimal(quantity), unit, decimal(base), decimal(price))
                values = converted[item] = (*values, decimal(amount))
            rows.append(values)
        return rows
