"""The CSV door: products.csv, customers.csv and orders.csv, streamed from a file."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import aclosing, contextmanager
from typing import IO, Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.bulk import large_cache
from core.clock import Clock, system_clock
from core.db import (
    SessionFactory,
    foreign_keys_enforced,
    is_postgres,
    unit_of_work,
    write_unit_of_work,
)
from core.ingest.customers import CUSTOMER_COLUMNS, CustomerImport
from core.ingest.order_feed import order_batches
from core.ingest.order_writer import OrderWriter, load_products
from core.ingest.products import PRODUCT_COLUMNS, write_products
from core.ingest.reading import Columns, CsvRows, ProgressCallback, Refused
from core.ingest.report import ImportReport
from core.models.orders import Order

# PostgreSQL: an orders load of at least this many accepted lines ends with VACUUM (ANALYZE)
# of the tables it wrote (see `settle_after_load`).
SETTLE_FROM_LINES = 100_000
_LOADED_TABLES = ("customers", "orders", "order_lines")


class NotAFirstLoad(Exception):
    """An orders import without foreign-key checks met stored orders (see `load_orders`)."""


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
    In a transaction without foreign-key checks (`load_orders`) it raises NotAFirstLoad,
    before writing anything, when an order is stored.
    """
    if not await foreign_keys_enforced(session) and await _has_orders(session):
        raise NotAFirstLoad(source)
    report = ImportReport(kind="orders", source=source)
    writer = OrderWriter(session, report, origin, clock())
    products = await load_products(session)
    with gc_paused():
        # The indexes are kept up to date as the batches come (no drop and rebuild for a bulk
        # load): a large file is parsed in its own process, and the writer's index upkeep runs
        # while that process parses the next batch, where a rebuild would be a serial tail.
        # 1M lines dirty ~150 MiB of pages; a 32 MiB cache lets most of them spill to the WAL
        # meanwhile, rather than all at the commit, when the parser is done and waits.
        # (Measured on 1M lines: 1.5 s and 0.4 s shorter; README, Benchmarks.)
        async with large_cache(session, mebibytes=32):
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


async def load_orders(
    factory: SessionFactory,
    stream: IO[Any],
    source: str = "orders.csv",
    *,
    on_progress: ProgressCallback | None = None,
    clock: Clock = system_clock,
) -> ImportReport:
    """`import_orders` in a transaction of its own; a first load skips per-row FK checks.

    A first load (no order stored yet: a new shop loading its history, a million lines and
    more) runs without SQLite's foreign-key checks, ≈ 1 CPU s per million lines (README,
    Benchmarks), because every reference it writes is sound by construction: an order's
    customer was read or created in the same transaction, a line's product was read in it, a
    line's order was inserted by it; the only lines it deletes (an order whose lines are far
    apart in the file) are its own, which nothing references yet; and the write lock keeps
    every other writer out until it commits. Whether the shop has orders is asked again inside
    that transaction: if one arrived in between, the import starts over with the checks on.
    Everything else (PostgreSQL, a shop with orders) is a plain `import_orders`. A large load
    then settles the tables it wrote (`settle_after_load`).
    """
    report = await _load_orders(factory, stream, source, on_progress=on_progress, clock=clock)
    if report.accepted >= SETTLE_FROM_LINES:
        await settle_after_load(factory, _LOADED_TABLES)
    return report


async def _load_orders(
    factory: SessionFactory,
    stream: IO[Any],
    source: str,
    *,
    on_progress: ProgressCallback | None,
    clock: Clock,
) -> ImportReport:
    start = stream.tell()
    async with unit_of_work(factory) as session:
        first_load = not await _has_orders(session)
    if first_load:
        try:
            async with write_unit_of_work(factory, foreign_keys=False) as session:
                return await import_orders(
                    session, stream, source, on_progress=on_progress, clock=clock
                )
        except NotAFirstLoad:
            stream.seek(start)
    async with write_unit_of_work(factory) as session:
        return await import_orders(session, stream, source, on_progress=on_progress, clock=clock)


async def settle_after_load(factory: SessionFactory, tables: Sequence[str]) -> None:
    """PostgreSQL: VACUUM (ANALYZE) the tables a large load wrote (outside any transaction).

    The load leaves a dead version of every customer row whose figures it rewrote, tables
    whose visibility map is unset (index-only scans then read the heap too) and stale planner
    statistics; autovacuum would settle them some minutes later, this does before the next
    run needs it (bench shop, 8M lines: 3.9 s of VACUUM; the first cadence run 182.6 → 173.1 s,
    predictions' summary 15.2 → 7.7 s). SQLite needs none of it.
    """
    async with factory() as session:
        engine = session.bind
    if not isinstance(engine, AsyncEngine) or not is_postgres(engine):
        return
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))


async def load_csv(
    factory: SessionFactory,
    kind: str,
    stream: IO[Any],
    source: str,
    *,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import one CSV stream of `kind` (products, customers or orders) in its own transaction."""
    if kind == "orders":
        return await load_orders(factory, stream, source, on_progress=on_progress)
    importer = {"products": import_products, "customers": import_customers}[kind]
    async with write_unit_of_work(factory) as session:
        return await importer(session, stream, source, on_progress=on_progress)


async def _has_orders(session: AsyncSession) -> bool:
    return await session.scalar(select(Order.id).limit(1)) is not None


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
