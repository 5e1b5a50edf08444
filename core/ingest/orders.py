"""orders.csv and the orders API: order lines validated and grouped into orders, in batches.

Rows are parsed with caches (a phone, a date, a unit is parsed once per file) and grouped by
`order_id`; a full batch leaves as an `OrderBatch` (driver-ready rows) for `OrderWriter`. An order is all or nothing: when one of its
lines is rejected, its other lines are reported too and the order is not written. The one
exception is a line that repeats one of the order (same product, quantity, unit and price):
the repeat is reported and the order kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from core.digits import to_ascii_digits
from core.errors import InvalidInput
from core.ingest.drafts import BatchRows, Item, OrderBatch, OrderDraft, ProductInfo
from core.ingest.fields import (
    LocalMinutes,
    check_decimal,
    money,
    parse_instant,
    parse_status,
    text_field,
)
from core.ingest.reading import Columns
from core.ingest.report import ImportReport
from core.phones import normalize_phone
from core.units import normalize_unit, parse_quantity, to_base

__all__ = ["BATCH_ORDERS", "ORDER_COLUMNS", "OrderLines", "parse_quantity_text"]

ORDER_COLUMNS = Columns(
    required=("order_id", "ordered_at", "sku", "quantity", "unit_price"),
    one_of=("phone", "customer_ref"),
    optional=("unit", "coupon_code", "status"),
)
BATCH_ORDERS = 5_000
_QUANTITY_LIMIT = Decimal(10) ** 9
_PRICE_LIMIT = Decimal(10) ** 10
_CACHE_LIMIT = 200_000  # distinct texts kept per cache, to bound memory
_NO_PHONE = (None, None)
_STATUSES = {"": "delivered", "delivered": "delivered", "pending": "pending"}
_HEADER_NAMES = ("ordered_at", "phone", "customer_ref", "coupon_code", "status")
# of a row's values in ORDER_COLUMNS order: what every line of an order must repeat, and the
# key of the item cache (sku, quantity, unit, unit_price), as `OrderLines.add` takes them
_header_of = itemgetter(1, 5, 6, 8, 9)
_order_of = itemgetter(0, 1, 5, 6, 8, 9)  # the order id and the header
_item_key_of = itemgetter(2, 3, 7, 4)


@dataclass(frozen=True, slots=True)
class _Bad:
    reason: str


class OrderLines:
    """Validates order lines and groups them into order drafts for the current batch."""

    def __init__(
        self,
        products: dict[str, ProductInfo],
        report: ImportReport,
        batch_orders: int | None = None,
        *,
        native: bool = False,
        customers: dict[str, int] | None = None,
    ) -> None:
        self.products = products
        self.customers = customers or {}  # customer ids by phone, as known when parsing began
        self.rows = BatchRows(native)  # native: the database driver takes Python values
        self.batch_orders = BATCH_ORDERS if batch_orders is None else batch_orders
        self.products_folded = {sku.casefold(): p for sku, p in products.items()}
        self.report = report
        self.batch: dict[str, OrderDraft] = {}
        self.last_id: str | None = None
        self.failed: dict[str, int] = {}  # order id -> line that made it fail (whole file)
        # parsed once per distinct text; a rejected text is kept as its reason (a _Bad)
        self._phones: dict[str, tuple[str | None, int | None] | _Bad] = {}  # (phone, customer)
        # (ordered_at, order_date, the two in the driver's form)
        self._instants: dict[str, tuple[datetime, date, tuple[Any, Any]] | _Bad] = {}
        self._units: dict[str, str | _Bad] = {}
        self._minutes = LocalMinutes()
        # (item, its values in the driver's form)
        self._items: dict[tuple[str, str, str, str], tuple[Item, tuple[Any, ...]] | _Bad] = {}
        self._seq = 0  # orders begun so far
        self._sent: set[str] = set()  # ids of the orders in the batches taken so far

    @property
    def full(self) -> bool:
        return len(self.batch) > self.batch_orders

    def batches(self, rows: Iterable[tuple[int, tuple[str, ...]]]) -> Iterator[OrderBatch]:
        """Every row validated, in batches of orders (an order's lines may span batches)."""
        add = self.add
        limit = self.batch_orders
        items = self._items
        # A file lists an order's lines one after another. A line that repeats, as written, the
        # order id and header of the line before, which went into `draft`, needs only its item
        # looked up: `add`'s other checks passed for that line. Anything else (or a repeated
        # item) goes to `add`.
        previous: tuple[str, ...] | None = None
        draft: OrderDraft | None = None
        for line, values in rows:
            order = _order_of(values)
            if order == previous:
                found = items.get(_item_key_of(values))
                if type(found) is tuple:  # not None (unseen) nor _Bad
                    item, item_values = found
                    if draft.add_line(line, item, item_values):  # type: ignore[union-attr]
                        continue
            draft = add(line, values)
            previous = order if draft is not None else None
            if len(self.batch) > limit:
                yield self.take_batch(keep_last=True)
                previous = None
        # let go of the last draft before its batch is sent: held, its rows would be referenced
        # twice, which marshal writes differently (the frames stay the same to the byte)
        draft = None
        yield self.take_batch(keep_last=False)

    def take_batch(self, keep_last: bool) -> OrderBatch:
        """The orders to write now; the last order stays when its lines may continue."""
        batch, self.batch = self.batch, {}
        if keep_last and self.last_id is not None and self.last_id in batch:
            self.batch[self.last_id] = batch.pop(self.last_id)
        sent = self._sent
        again = [k for k, order_id in enumerate(batch) if order_id in sent]
        sent.update(batch)
        return self.rows.batch(list(batch.values()), again)

    def add(self, line: int, values: tuple[str, ...], tag: str = "") -> OrderDraft | None:
        """Validate one order line (values in ORDER_COLUMNS order) into its order's draft.

        The draft of the line's order, when it stands after this line (None: the line or its
        order was rejected).
        """
        order_id, at_raw, sku, qty_raw, price_raw, phone_raw, ref_raw, unit_raw, coupon, status = (
            values
        )
        order_id = order_id.strip()
        if not order_id:
            if any(v.strip() for v in values):
                self.report.reject(line, f"{tag}order_id is empty")
            return None
        header = _header_of(values)
        draft = self.batch.get(order_id)
        if draft is None:
            if order_id in self.failed:
                self.report.reject(
                    line,
                    f"{tag}order {order_id} not imported: line {self.failed[order_id]} "
                    "was rejected",
                )
                return None
            try:
                draft = self._draft(order_id, line, header)
            except InvalidInput as exc:  # about the order, not this line: no tag
                self.report.reject(line, str(exc))
                self.failed[order_id] = line
                return None
            self.batch[order_id] = draft
            self.last_id = order_id
        elif draft.header != header:
            name = next(n for n, a, b in zip(_HEADER_NAMES, header, draft.header, strict=True)
                        if a != b)  # fmt: skip
            self.fail(draft, line, f"{tag}order {order_id}: {name} differs from line {draft.line}")
            return None
        key = _item_key_of(values)
        found = self._items.get(key)
        if found is None:
            if len(self._items) > _CACHE_LIMIT:
                self._items.clear()
            try:
                item = self._item(sku, qty_raw, unit_raw, price_raw)
                found = (item, self.rows.line_values(item))
            except InvalidInput as exc:
                found = _Bad(str(exc))
            self._items[key] = found
        if isinstance(found, _Bad):
            self.fail(draft, line, f"{tag}{found.reason}")
            return None
        item, values = found
        if not draft.add_line(line, item, values):
            # the same line twice: the repeat is refused, the order is kept with one copy
            first = draft.first_line_of(item)
            self.report.reject(
                line, f"{tag}duplicate line: same as line {first} of order {order_id}"
            )
        return draft

    def fail(self, draft: OrderDraft, line: int, reason: str) -> None:
        """Reject a line and, with it, the whole order it belongs to."""
        self.report.reject(line, reason)
        for earlier, _ in draft.lines:
            self.report.reject(
                earlier, f"order {draft.external_id} not imported: line {line} was rejected"
            )
        self.batch.pop(draft.external_id, None)
        self.failed[draft.external_id] = line

    def _draft(self, order_id: str, line: int, header: tuple[str, ...]) -> OrderDraft:
        at_raw, phone_raw, ref_raw, coupon, status = header
        if len(order_id) > 100:
            raise InvalidInput("order_id is longer than 100 characters")
        phone, customer_id = self._phone(phone_raw) if phone_raw else _NO_PHONE
        ref = text_field(ref_raw, "customer_ref", 100) or None if ref_raw else None
        if phone is None and ref is None:
            raise InvalidInput("phone or customer_ref is required")
        ordered_at, order_date, when = self._instant(at_raw)
        self._seq += 1  # before the status and coupon are checked: an order they refuse counts
        draft = OrderDraft(
            order_id,
            line,
            header,
            phone,
            ref,
            ordered_at,
            order_date,
            _STATUSES.get(status) or parse_status(status),
            text_field(coupon, "coupon_code", 64) or None if coupon else None,
        )
        # set after: keyword arguments made a draft a third dearer (one per order of a file)
        draft.seq = self._seq
        draft.when = when
        draft.customer_id = customer_id
        return draft

    def _item(self, sku: str, qty_raw: str, unit_raw: str, price_raw: str) -> Item:
        product = self.products.get(sku) or self.products.get(sku.strip())
        if product is None:
            product = self.products_folded.get(sku.strip().casefold())
            if product is None:
                raise InvalidInput(f"unknown product sku {sku.strip()!r}" if sku.strip()
                                   else "sku is empty")  # fmt: skip
        unit = self._unit(unit_raw)
        try:
            quantity = Decimal(qty_raw if qty_raw.isascii() else to_ascii_digits(qty_raw))
        except InvalidOperation:
            quantity, written = parse_quantity_text(qty_raw)
            if written and unit and written != unit:
                raise InvalidInput(
                    f"quantity {qty_raw.strip()!r} says {written} but unit says {unit}"
                ) from None
            unit = unit or written
        quantity = check_decimal(quantity, qty_raw, "quantity", places=3, limit=_QUANTITY_LIMIT)
        if quantity <= 0:
            raise InvalidInput(f"quantity {qty_raw.strip()!r} must be more than zero")
        factor = product.factors.get(unit)
        if factor is None:  # says why: another dimension than the product's
            to_base(quantity, unit, product.pack_size, product.unit)
            raise InvalidInput(f"unit {unit!r} cannot measure {product.sku}")  # pragma: no cover
        try:
            price = Decimal(price_raw if price_raw.isascii() else to_ascii_digits(price_raw))
        except InvalidOperation:
            raise InvalidInput(f"unit_price {price_raw.strip()!r} is not a number") from None
        price = check_decimal(price, price_raw, "unit_price", places=2, limit=_PRICE_LIMIT)
        if price < 0:
            raise InvalidInput(f"unit_price {price_raw.strip()!r} is negative")
        return (
            product.id,
            quantity,
            unit or product.unit,
            quantity * factor,
            price,
            money(quantity * price),
        )

    def _phone(self, raw: str) -> tuple[str | None, int | None]:
        """The number (None when blank) and the id of its customer when known."""
        found = self._phones.get(raw)
        if found is None:
            if len(self._phones) > _CACHE_LIMIT:
                self._phones.clear()
            try:
                phone = normalize_phone(raw) if raw.strip() else None
                found = (phone, self.customers.get(phone) if phone else None)
            except InvalidInput as exc:
                found = _Bad(str(exc))
            self._phones[raw] = found
        if isinstance(found, _Bad):
            raise InvalidInput(found.reason)
        return found

    def _instant(self, raw: str) -> tuple[datetime, date, tuple[Any, Any]]:
        found = self._instants.get(raw)
        if found is None:
            if len(self._instants) > _CACHE_LIMIT:
                self._instants.clear()
            try:
                instant, day = self._minutes.parse(raw) or parse_instant(raw, "ordered_at")
                found = (instant, day, self.rows.when(instant, day))
            except InvalidInput as exc:
                found = _Bad(str(exc))
            self._instants[raw] = found
        if isinstance(found, _Bad):
            raise InvalidInput(found.reason)
        return found

    def _unit(self, raw: str) -> str:
        found = self._units.get(raw)
        if found is None:
            try:
                found = normalize_unit(raw)
            except InvalidInput as exc:
                found = _Bad(str(exc))
            self._units[raw] = found
        if isinstance(found, _Bad):
            raise InvalidInput(found.reason)
        return found


def parse_quantity_text(raw: str) -> tuple[Decimal, str]:
    """A quantity written with its unit in the quantity column ("৫ কেজি")."""
    if not raw.strip():
        raise InvalidInput("quantity is empty")
    return parse_quantity(raw)
