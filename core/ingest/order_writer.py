"""Writing a batch of order drafts: a handful of set-based statements per batch, none per row.

New orders are inserted with their lines; an order already stored (same external id) is
compared and, when its status, coupon, customer, date or lines differ, updated in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.bulk import DriverValues, among, bulk_insert
from core.customers_aggregates import refresh_customer_aggregates
from core.ingest.customers import create_customers
from core.ingest.drafts import BatchRows, Item, OrderBatch, OrderDraft, ProductInfo, product_info
from core.ingest.report import ImportReport
from core.models.catalog import Product
from core.models.customers import Customer
from core.models.orders import Order, OrderLine

_orders = cast(Table, Order.__table__)
_lines = cast(Table, OrderLine.__table__)
_customers = cast(Table, Customer.__table__)
_ORDER_COLUMNS = (
    "external_id", "customer_id", "ordered_at", "order_date", "status", "total", "coupon_code",
    "source", "created_at", "updated_at",
)  # fmt: skip
_LINE_COLUMNS = (
    "order_id", "line_no", "product_id", "quantity", "unit", "base_quantity", "unit_price",
    "amount",
)  # fmt: skip


async def load_products(session: AsyncSession) -> dict[str, ProductInfo]:
    """Every product by SKU, loaded once per import."""
    rows = await session.execute(select(Product.id, Product.sku, Product.unit, Product.pack_size))
    return {sku: product_info(pid, sku, unit, size) for pid, sku, unit, size in rows}


class OrderWriter:
    """Stores batches of validated orders for one import (one source, one transaction)."""

    def __init__(
        self, session: AsyncSession, report: ImportReport, source: str, now: datetime
    ) -> None:
        self.session = session
        self.report = report
        self.source = source
        self.now = now
        self.driver = DriverValues.of(session)
        self.rows = BatchRows(self.driver.native)  # for lines rewritten by an update
        self.fresh: bool | None = None  # no order was stored before (known at the first batch)
        self.by_phone: dict[str, int] = {}
        self.by_ref: dict[str, int] = {}
        self.written: set[str] = set()  # external ids stored by this import
        self.created_ids: set[int] = set()  # order ids created by this import
        self.changed: set[int] = set()  # order ids updated by this import
        # stored state of the orders this import changed, as it was before (row, lines)
        self.before: dict[int, tuple[Any, list[Item]]] = {}

    async def write(self, batch: OrderBatch) -> None:
        """Store one batch of orders (call `finish` after the last one)."""
        if not batch:
            return
        customer_ids = await self._customers_of(batch)
        existing = await self._existing(batch)
        new = [k for k in customer_ids if k not in existing]
        if new:
            await self._insert(batch.only(new), [customer_ids[k] for k in new])
        old = [k for k in existing if k in customer_ids]
        if old:
            await self._update(batch, old, existing, customer_ids)
        if not self.fresh:  # (on a fresh shop, any order found was written by this import)
            orders = batch.orders
            self.written.update(orders[k][0] for k in customer_ids)

    async def finish(self) -> None:
        """Refresh, set-based, the aggregates of every customer whose orders changed.

        Once per import rather than per batch: the import is one transaction, so nobody sees
        the aggregates in between, and a customer met in many batches is computed once.
        """
        if self.report.customer_ids_touched:
            await refresh_customer_aggregates(
                self.session, sorted(self.report.customer_ids_touched)
            )

    async def _customers_of(self, batch: OrderBatch) -> dict[int, int]:
        """The customer id of each order (by index); unknown phones become customers.

        An order known by an unknown customer_ref alone is rejected (and left out).
        """
        orders = batch.orders
        ids = [o[9] for o in orders]
        if None not in ids:  # the parser knew every customer
            return dict(enumerate(ids))
        by_phone, by_ref = self.by_phone, self.by_ref
        missing = [o for c, o in zip(ids, orders, strict=True) if c is None]
        phones = {o[1] for o in missing if o[1]} - by_phone.keys()
        refs = {o[2] for o in missing if not o[1] and o[2]} - by_ref.keys()
        c = _customers.c
        if phones:
            rows = await self.session.execute(
                select(c.phone, c.id).where(among(self.session, c.phone, phones))
            )
            by_phone.update(rows.all())
        if refs:
            rows = await self.session.execute(
                select(c.customer_ref, c.id).where(among(self.session, c.customer_ref, refs))
            )
            by_ref.update(rows.all())
        if phones - by_phone.keys():
            unknown: dict[str, str | None] = {}
            for o in missing:
                if o[1] and o[1] not in by_phone:
                    unknown.setdefault(o[1], o[2])
            created = await create_customers(self.session, unknown, self.now)
            by_phone.update(created)
            self.report.customers_created += len(created)
        ids = [
            c if c is not None else by_phone[o[1]] if o[1] else by_ref.get(o[2])
            for c, o in zip(ids, orders, strict=True)
        ]
        if None in ids:
            starts = batch.starts()
            for k, found in enumerate(ids):
                if found is not None:
                    continue
                reason = (
                    f"unknown customer_ref {orders[k][2]!r} for order {orders[k][0]} "
                    "(give a phone to create the customer)"
                )
                for line in batch.line_numbers[starts[k] : starts[k + 1]]:
                    self.report.reject(line, reason)
        return {k: found for k, found in enumerate(ids) if found is not None}

    async def known_phones(self) -> dict[str, int]:
        """Every customer's id by phone (for a parser to resolve them as it reads)."""
        rows = await self.session.execute(select(_customers.c.phone, _customers.c.id))
        self.by_phone.update({phone: customer_id for phone, customer_id in rows})
        return dict(self.by_phone)

    async def _existing(self, batch: OrderBatch) -> dict[int, Any]:
        """The stored orders of the batch, by their index in it."""
        if self.fresh is None:  # SQLite holds the write lock: no other writer adds orders
            stored = await self.session.scalar(select(_orders.c.id).limit(1))
            self.fresh = not self.driver.native and stored is None
        if self.fresh:  # only orders of earlier batches, written by this import, can exist
            external_ids = [batch.orders[k][0] for k in batch.again]
            if not external_ids:
                return {}
        else:
            external_ids = [o[0] for o in batch.orders]
        rows = await self.session.execute(
            select(_orders).where(among(self.session, _orders.c.external_id, external_ids))
        )
        index = {o[0]: k for k, o in enumerate(batch.orders)}
        return {index[row.external_id]: row for row in rows}

    async def _new_ids(self, count: int) -> Sequence[int]:
        """Ids for `count` new orders, taken before inserting them (no lookup afterwards).

        SQLite: the next rowids (this transaction is the only writer once it has written;
        before, SQLite refuses a write from a stale snapshot), as a range. PostgreSQL: the
        sequence.
        """
        if self.driver.native:
            rows = await self.session.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('orders', 'id')) FROM generate_series(1, :n)"
                ),
                {"n": count},
            )
            return [n for (n,) in rows]
        last = int(await self.session.scalar(select(func.max(_orders.c.id))) or 0)
        return range(last + 1, last + 1 + count)

    async def _insert(self, batch: OrderBatch, customer_ids: list[int]) -> None:
        now = self.driver.instant(self.now)
        source = self.source
        ids = await self._new_ids(len(batch))
        rows = [
            (order_id, external_id, customer_id, at, day, status, total, coupon, source, now, now)
            for order_id, customer_id, (external_id, _, _, at, day, status, total, coupon, *_)
            in zip(ids, customer_ids, batch.orders, strict=True)
        ]  # fmt: skip
        await bulk_insert(self.session, _orders, ("id", *_ORDER_COLUMNS), rows)
        await self._insert_lines(ids, batch.lines, batch.first)
        self.report.customer_ids_touched.update(customer_ids)
        self.report.order_ids_created.extend(ids)
        self.created_ids.update(ids)
        self.report.created += len(batch)
        self.report.accepted += len(batch.lines)

    async def _insert_lines(
        self, ids: Sequence[int], lines: list[tuple[Any, ...]], first: int = 0
    ) -> None:
        """Insert lines given as (k, line_no, values…), `k - first` the index of their order's id."""
        if isinstance(ids, range) and ids.step == 1:  # consecutive: the SQL adds the offset
            shift = {"order_id": ids.start - first}
            await bulk_insert(self.session, _lines, _LINE_COLUMNS, lines, shift=shift)
            return
        rows = [(ids[k - first], *values) for k, *values in lines]
        await bulk_insert(self.session, _lines, _LINE_COLUMNS, rows)

    async def _stored_lines(self, order_ids: list[int]) -> dict[int, list[Item]]:
        stored: dict[int, list[Item]] = {i: [] for i in order_ids}
        c = _lines.c
        rows = await self.session.execute(
            select(c.order_id, c.product_id, c.quantity, c.unit, c.base_quantity)
            .add_columns(c.unit_price, c.amount)
            .where(among(self.session, c.order_id, order_ids))
            .order_by(c.order_id, c.line_no)
        )
        for order_id, *item in rows:
            stored[order_id].append(tuple(item))  # type: ignore[arg-type]
        return stored

    async def _update(
        self,
        batch: OrderBatch,
        ks: list[int],
        existing: dict[int, Any],
        customer_ids: dict[int, int],
    ) -> None:
        stored = await self._stored_lines([existing[k].id for k in ks])
        starts = batch.starts()
        headers: list[dict[str, Any]] = []
        relined: list[tuple[int, list[tuple[int, Item]]]] = []
        touched = self.report.customer_ids_touched
        for k in ks:
            draft = batch.draft(k, starts[k], self.driver)
            old = existing[k]
            lines = stored[old.id]
            if self.fresh or draft.external_id in self.written:
                self._merge(draft, lines)
            values = {
                "customer_id": customer_ids[k],
                "ordered_at": draft.ordered_at,
                "order_date": draft.order_date,
                "status": draft.status,
                "total": draft.total,
                "coupon_code": draft.coupon_code,
            }
            self.report.accepted += len(draft.lines)
            self._compare(draft, old, lines, values, headers, relined, touched)
        if headers:
            await self.session.execute(
                update(_orders).where(_orders.c.id == bindparam("b_id")), headers
            )
        if relined:
            ids = [order_id for order_id, _ in relined]
            await self.session.execute(
                delete(_lines).where(among(self.session, _lines.c.order_id, ids))
            )
            rows: list[tuple[Any, ...]] = []
            line_values = self.rows.line_values
            for k, (_, numbered) in enumerate(relined):
                rows.extend(
                    (k, n, *line_values(item)) for n, (_, item) in enumerate(numbered, start=1)
                )
            await self._insert_lines(ids, rows)

    def _compare(
        self,
        draft: OrderDraft,
        old: Any,
        lines: list[Item],
        values: dict[str, Any],
        headers: list[dict[str, Any]],
        relined: list[tuple[int, list[tuple[int, Item]]]],
        touched: set[int],
    ) -> None:
        """Queue the writes that make a stored order match its draft, and count the outcome.

        An order whose lines are far apart in the file is written once per batch; it counts
        as changed only if, in the end, it differs from what was stored before this import.
        """
        new_lines = [_key(x) for _, x in draft.lines]
        same_lines = [_key(x) for x in lines] == new_lines
        if same_lines and all(getattr(old, k) == v for k, v in values.items()):
            if old.id not in self.changed and old.id not in self.created_ids:
                self.report.unchanged += 1
            return
        touched.update((old.customer_id, values["customer_id"]))
        updated_at = self.now
        before = self.before.get(old.id)
        if before is not None:
            first, first_lines = before
            if [_key(x) for x in first_lines] == new_lines and all(
                getattr(first, k) == v for k, v in values.items()
            ):  # back to what it was: nothing changed after all
                updated_at = first.updated_at
                del self.before[old.id]
                self.changed.discard(old.id)
                self.report.order_ids_changed.remove(old.id)
                self.report.updated -= 1
                self.report.unchanged += 1
        elif old.id not in self.changed and old.id not in self.created_ids:
            self.before[old.id] = (old, lines)
            self.changed.add(old.id)
            self.report.order_ids_changed.append(old.id)
            self.report.updated += 1
        headers.append({"b_id": old.id, **values, "updated_at": updated_at})
        if not same_lines:
            relined.append((old.id, draft.lines))

    def _merge(self, draft: OrderDraft, stored: list[Item]) -> None:
        """Prepend the lines stored earlier in this import (the file did not group the order)."""
        known = {_key(x): n for n, x in enumerate(stored, start=1)}
        kept = []
        for line, item in draft.lines:
            n = known.get(_key(item))
            if n is None:
                kept.append((line, item))
            else:
                self.report.reject(
                    line,
                    f"duplicate line: order {draft.external_id} already has it "
                    f"(its line {n}, stored earlier from this file)",
                )
        draft.set_lines([(0, x) for x in stored] + kept)
        self.report.accepted -= len(stored)  # counted when they were first stored


def _key(item: Item) -> tuple[Any, ...]:
    """What identifies a line (the other values follow from these)."""
    return item[:3] + item[4:5]
