"""What parsing hands to writing: products as the parser sees them, order drafts, order batches.

An order draft is one order of the input, validated, with its lines. A batch of drafts leaves
the parser as an `OrderBatch`: flat tuples of values already in the database driver's form (see
core.driver_values.DriverValues), built where parsing is done (in the parser process, for a large file),
cheap to pickle, and handed by the writer to the driver as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from itertools import accumulate, chain
from typing import Any

from core.driver_values import DriverValues
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
    """One order of the input, validated; its lines are (line number, item).

    The parser also keeps the order in the driver's form as lines are added (see `OrderBatch`):
    `when` is (ordered_at, order_date) and `rows` one tuple a line, (seq, line_no, values…).
    """

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
    seq: int = 0  # the parser's count of orders when this one began
    customer_id: int | None = None  # when the parser knows the phone's customer
    when: tuple[Any, ...] = ()
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add_line(self, line: int, item: Item, values: tuple[Any, ...] = ()) -> bool:
        """Append a validated line, unless the order has it already (then False).

        `values`: the line's values in the driver's form (`BatchRows.line_values`).
        """
        items = self.items
        count = len(items)
        items.add(item)  # one hash a line, for the check and the add
        if len(items) == count:
            return False
        self.lines.append((line, item))
        self.rows.append((self.seq, count + 1) + values)  # `+`: faster than `*values`
        self.total += item[5]
        return True

    def set_lines(self, lines: list[tuple[int, Item]]) -> None:
        """Replace the lines (and so the total); `rows` are left behind (the writer's use)."""
        self.lines[:] = lines
        self.items = {item for _, item in lines}
        self.total = sum((item[5] for _, item in lines), Decimal(0))
        self.rows = []

    def first_line_of(self, item: Item) -> int | None:
        """The line that already holds this very item, if any (a duplicate line)."""
        for line, other in self.lines:
            if other == item:
                return line
        return None


@dataclass(slots=True)
class OrderBatch:
    """Validated orders with their lines, in the driver's form: what parsing hands to writing.

    `orders`: one tuple an order, (external_id, phone, customer_ref, ordered_at, order_date,
    status, total, coupon_code, number of lines, customer id or None when the parser did not
    know it). `lines`: one tuple a line, (k, line_no,
    product_id, quantity, unit, base_quantity, unit_price, amount), `k - first` the index of
    its order in `orders`, line_no from 1; the lines of an order follow one another, in order.
    `line_numbers`: the input line (CSV line or JSON index) of each entry of `lines`. `again`:
    the indexes of the orders whose id came in an earlier batch of the same input.
    """

    orders: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    first: int = 0
    again: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.orders)

    def starts(self) -> list[int]:
        """Where each order's lines start in `lines` (and, last, where they end)."""
        return [0, *accumulate(order[8] for order in self.orders)]

    def only(self, ks: list[int]) -> OrderBatch:
        """The batch of the orders at these indexes (in this order)."""
        if ks == list(range(len(self.orders))):
            return self
        starts = self.starts()
        picked = OrderBatch()
        for new_k, k in enumerate(ks):
            start, end = starts[k], starts[k + 1]
            picked.orders.append(self.orders[k])
            picked.lines.extend((new_k, *row[1:]) for row in self.lines[start:end])
            picked.line_numbers.extend(self.line_numbers[start:end])
        return picked

    def draft(self, k: int, start: int, values: DriverValues) -> OrderDraft:
        """The order at index k as a draft (Python values again), its lines from `start`."""
        external_id, phone, ref, at, day, status, _total, coupon, count, _ = self.orders[k]
        decimal = values.from_decimal
        lines = [
            (number, (pid, decimal(qty), unit, decimal(base), decimal(price), decimal(amount)))
            for number, (_, _, pid, qty, unit, base, price, amount) in zip(
                self.line_numbers[start : start + count],
                self.lines[start : start + count],
                strict=True,
            )
        ]
        draft = OrderDraft(
            external_id, lines[0][0] if lines else 0, (), phone, ref, values.from_instant(at),
            values.from_day(day), status, coupon,
        )  # fmt: skip
        draft.set_lines(lines)
        return draft


@cache
def _times_of_day() -> tuple[str, ...]:
    """The time part of `DriverValues.instant`'s text (after the date) for each minute of a day."""
    instant = DriverValues(native=False).instant
    midnight = datetime(2000, 1, 1, tzinfo=UTC)
    return tuple(instant(midnight + timedelta(minutes=m))[10:] for m in range(24 * 60))


class BatchRows:
    """Values in the driver's form for drafts and batches, each distinct value converted once."""

    def __init__(self, native: bool) -> None:
        self.values = DriverValues(native)
        self._items: dict[Item, tuple[Any, ...]] = {}
        self._dates: dict[date, str] = {}  # the date part of `DriverValues.instant`'s text

    def when(self, ordered_at: datetime, order_date: date) -> tuple[Any, Any]:
        """An order's (ordered_at, order_date) for the driver."""
        values = self.values
        whole_minute = not (ordered_at.second or ordered_at.microsecond)
        if values.native or ordered_at.tzinfo is not UTC or not whole_minute:
            return values.instant(ordered_at), values.day(order_date)
        # A file holds ~100k distinct instants (on whole minutes) on a few hundred dates, and
        # formatting each took ~4% of parsing: the text of an instant's date is made once, that
        # of its time of day looked up, both as `DriverValues.instant` writes them.
        day = ordered_at.date()
        date_text = self._dates.get(day)
        if date_text is None:
            if len(self._dates) > _CACHE_LIMIT:
                self._dates.clear()
            date_text = self._dates[day] = values.instant(datetime.combine(day, time(), UTC))[:10]
        minute = ordered_at.hour * 60 + ordered_at.minute
        return date_text + _times_of_day()[minute], values.day(order_date)

    def line_values(self, item: Item) -> tuple[Any, ...]:
        """A line's (product_id, quantity, unit, base_quantity, unit_price, amount)."""
        row = self._items.get(item)
        if row is None:
            if len(self._items) > _CACHE_LIMIT:
                self._items.clear()
            decimal = self.values.decimal
            pid, quantity, unit, base, price, amount = item
            row = (pid, decimal(quantity), unit, decimal(base), decimal(price), decimal(amount))
            self._items[item] = row
        return row

    def batch(self, drafts: list[OrderDraft], again: list[int]) -> OrderBatch:
        """The drafts (in the order they began) as one batch."""
        if drafts and drafts[-1].seq - drafts[0].seq != len(drafts) - 1:
            # orders were dropped in between (rejected): number the rest without gaps
            first = drafts[0].seq
            for k, d in enumerate(drafts, start=first):
                if d.seq != k:
                    d.seq = k
                    d.rows = [(k, *row[1:]) for row in d.rows]
        decimal = self.values.decimal
        orders = [
            (d.external_id, d.phone, d.customer_ref, d.when[0], d.when[1], d.status,
             decimal(d.total), d.coupon_code, len(d.lines), d.customer_id)
            for d in drafts
        ]  # fmt: skip
        lines = list(chain.from_iterable(d.rows for d in drafts))
        numbers = [number for d in drafts for number, _ in d.lines]
        return OrderBatch(orders, lines, numbers, drafts[0].seq if drafts else 0, again)
