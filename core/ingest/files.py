"""The CSV door: products.csv, customers.csv and orders.csv, streamed from a file."""

from __future__ import annotations

import asyncio
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.bulk import large_cache
from core.clock import Clock, system_clock
from core.ingest.customers import CUSTOMER_COLUMNS, CustomerImport
from core.ingest.order_writer import OrderWriter, load_products
from core.ingest.orders import ORDER_COLUMNS, OrderLines
from core.ingest.products import PRODUCT_COLUMNS, write_products
from core.ingest.reading import Columns, CsvRows, ProgressCallback, Refused
from core.ingest.report import ImportReport

_YIELD_EVERY = 256  # rows parsed between two chances for the writing task to go on


def _open(
    kind: str,
    stream: IO[Any],
    source: str,
    columns: Columns,
    on_progress: ProgressCallback | None,
) -> tuple[ImportReport, CsvRows | None]:
    report = ImportReport(kind=kind, source=source)
    try:
        return report, CsvRows(stream, columns, report, on_progress)
    except Refused as exc:
        report.refused = str(exc)
        return report, None


async def import_products(
    session: AsyncSession,
    stream: IO[Any],
    source: str = "products.csv",
    *,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Create or update products (and missing categories) from a products.csv stream."""
    report, rows = _open("products", stream, source, PRODUCT_COLUMNS, on_progress)
    if rows is not None:
        await write_products(session, rows, report)
    return report


async def import_customers(
    session: AsyncSession,
    stream: IO[Any],
    source: str = "customers.csv",
    *,
    on_progress: ProgressCallback | None = None,
    clock: Clock = system_clock,
) -> ImportReport:
    """Create or update customers from a customers.csv stream."""
    report, rows = _open("customers", stream, source, CUSTOMER_COLUMNS, on_progress)
    if rows is not None:
        async with large_cache(session):
            await CustomerImport(session, report, clock()).run(rows)
    return report


async def import_orders(
    session: AsyncSession,
    stream: IO[Any],
    source: str = "orders.csv",
    *,
    on_progress: ProgressCallback | None = None,
    clock: Clock = system_clock,
    origin: str = "csv",
) -> ImportReport:
    """Create or update orders (one row per order line) from an orders.csv stream."""
    report, rows = _open("orders", stream, source, ORDER_COLUMNS, on_progress)
    if rows is None:
        return report
    async with large_cache(session):
        await _read_orders(session, rows, OrderWriter(session, report, origin, clock()))
    return report


async def _read_orders(session: AsyncSession, rows: CsvRows, writer: OrderWriter) -> None:
    parser = OrderLines(await load_products(session), writer.report)
    add = parser.add
    # Batch k is written while batch k+1 is parsed: the database works in its own thread
    # (aiosqlite, or the server) while this one parses; yielding every few hundred rows lets
    # the writing task submit its next statement. Writes stay in order: one at a time.
    writing: asyncio.Task[None] | None = None
    try:
        for n, (line, values) in enumerate(rows):
            add(line, values)
            if parser.full:
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(writer.write(parser.take_batch(keep_last=True)))
            elif writing is not None and n % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
        if writing is not None:
            await writing
        await writer.write(parser.take_batch(keep_last=False))
        await writer.finish()
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
