"""The CSV door: products.csv, customers.csv and orders.csv, streamed from a file."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.bulk import large_cache
from core.clock import Clock, system_clock
from core.ingest.customers import CUSTOMER_COLUMNS, CustomerImport
from core.ingest.order_feed import order_batches
from core.ingest.order_writer import OrderWriter, load_products
from core.ingest.products import PRODUCT_COLUMNS, write_products
from core.ingest.reading import Columns, CsvRows, ProgressCallback, Refused
from core.ingest.report import ImportReport


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
    parallel: bool | None = None,
) -> ImportReport:
    """Create or update orders (one row per order line) from an orders.csv stream.

    `parallel`: whether a file on disk is parsed in a worker process (None: when it is large).
    """
    report = ImportReport(kind="orders", source=source)
    writer = OrderWriter(session, report, origin, clock())
    products = await load_products(session)
    with gc_paused():
        # 1M lines dirty ~150 MiB of pages: a cache that holds them spares spilling mid-import.
        # The indexes are kept up to date as the batches come (no drop and rebuild for a bulk
        # load): a large file is parsed in its own process, and the writer's index upkeep runs
        # while that process parses the next batch, where a rebuild would be a serial tail
        # (measured on 1M lines: 1.5 s shorter, README, Benchmarks).
        async with large_cache(session, mebibytes=256):
            batches = order_batches(
                stream, products, report, on_progress,
                native=writer.driver.native, parallel=parallel,
                known_phones=writer.known_phones,
            )  # fmt: skip
            async with aclosing(batches):
                async for batch in batches:
                    await writer.write(batch)
            if report.ok:
                await writer.finish()
    return report


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection in the block (it is collected after).

    An import allocates millions of tuples, none of them in a cycle, and every full collection
    walks all the objects alive (caches of phones, customers, products): measured on 1M lines,
    7 of 20 CPU seconds went to the collector.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
