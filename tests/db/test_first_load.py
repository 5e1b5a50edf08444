"""`load_orders`: a first load skips SQLite's per-row foreign-key checks, and nothing else.

It must store exactly what an import with the checks stores, hand its pooled connection back
with the checks on, and take the checks along whenever an order is stored (also when one
arrives between its look and its transaction).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import core.ingest.files as files_module
import core.ingest.orders as orders_module
from core.db import (
    SessionFactory,
    foreign_keys_enforced,
    make_engine,
    make_session_factory,
    write_unit_of_work,
)
from core.ingest import ImportReport, import_customers, import_orders, import_products, load_orders
from core.ingest.files import NotAFirstLoad
from core.models import OrderLine
from tests.db.test_ingest_csv import DATA, snapshot

# an order whose lines are far apart (stored, then rewritten), a new customer by phone, a
# customer by ref, Bangla digits, a rejected line
ORDERS = (
    "order_id,phone,customer_ref,ordered_at,sku,quantity,unit,unit_price,status\n"
    "F1,01711000001,,2025-01-05,RICE-5KG,1,pack,450,\n"
    "F2,01811000042,,2025-01-06,OIL-1L,2,l,320,\n"
    "F3,,C-1,২০২৫-০১-০৭,EGG-12,১,pack,১৭০,delivered\n"
    "F1,01711000001,,2025-01-05,EGG-12,1,pack,170,\n"
    "F4,01911000043,,2025-01-08,NOPE,1,pack,10,\n"
    "F5,01911000044,,2025-01-09,OIL-1L,1,l,320,\n"
    "F2,01811000042,,2025-01-06,RICE-5KG,1,pack,450,cancelled\n"
)


def clock() -> datetime:
    return datetime(2025, 2, 1, 9, 30, tzinfo=UTC)


class Spy:
    """Records, for each `import_orders` call, whether its transaction checked foreign keys."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checked: list[bool] = []
        real = files_module.import_orders

        async def spied(session: AsyncSession, *args: Any, **kwargs: Any) -> ImportReport:
            self.checked.append(await foreign_keys_enforced(session))
            return await real(session, *args, **kwargs)

        monkeypatch.setattr(files_module, "import_orders", spied)


async def shop(
    new_database: Callable[[], Awaitable[str]],
) -> tuple[AsyncEngine, SessionFactory, AsyncSession]:
    """A new database with the fixture's products and customers, on one pooled connection."""
    engine = make_engine(await new_database(), pool_size=1, max_overflow=0)
    factory = make_session_factory(engine)
    session = factory()
    async with session.begin():
        await import_products(
            session, io.BytesIO((DATA / "products.csv").read_bytes()), "products.csv"
        )
        customers = io.BytesIO((DATA / "customers.csv").read_bytes())
        await import_customers(session, customers, "customers.csv", clock=clock)
    await session.close()
    return engine, factory, session


async def stored(factory: SessionFactory) -> dict[str, Any]:
    async with factory() as session:
        return await snapshot(session)


async def first_load(factory: SessionFactory) -> ImportReport:
    return await load_orders(factory, io.BytesIO(ORDERS.encode()), "orders.csv", clock=clock)


@pytest.fixture(autouse=True)
def one_order_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders_module, "BATCH_ORDERS", 1)  # F1 and F2 are rewritten


async def test_a_first_load_stores_what_an_import_with_the_checks_stores(
    backend: str, new_database: Callable[[], Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    engine, factory, session = await shop(new_database)
    checked_engine, checked_factory, checked = await shop(new_database)
    try:
        report = await first_load(factory)
        assert spy.checked == [backend != "sqlite"]  # PostgreSQL always checks
        async with checked.begin():
            expected = await import_orders(
                checked, io.BytesIO(ORDERS.encode()), "orders.csv", clock=clock
            )
        assert report.summary() == expected.summary()
        assert [(r.line, r.reason) for r in report.rejected] == [(6, "unknown product sku 'NOPE'")]
        assert (report.created, report.customers_created) == (4, 2)
        assert await stored(factory) == await snapshot(checked)
    finally:
        await checked.close()
        await engine.dispose()
        await checked_engine.dispose()


async def test_after_a_first_load_the_connection_checks_foreign_keys_again(
    new_database: Callable[[], Awaitable[str]],
) -> None:
    engine, factory, _ = await shop(new_database)
    try:
        await first_load(factory)
        with pytest.raises(IntegrityError):
            async with write_unit_of_work(factory) as session:
                assert await foreign_keys_enforced(session)
                await session.execute(
                    insert(OrderLine).values(
                        order_id=1,
                        line_no=99,
                        product_id=999_999,
                        quantity=1,
                        unit="pcs",
                        base_quantity=1,
                        unit_price=1,
                        amount=1,
                    )  # fmt: skip
                )
    finally:
        await engine.dispose()


async def test_a_shop_with_orders_is_loaded_with_the_checks(
    new_database: Callable[[], Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, factory, _ = await shop(new_database)
    try:
        await first_load(factory)
        spy = Spy(monkeypatch)
        again = await first_load(factory)
        assert spy.checked == [True]
        assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    finally:
        await engine.dispose()


async def test_an_order_stored_after_the_look_sends_the_load_back_to_the_checks(
    backend: str, new_database: Callable[[], Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, factory, _ = await shop(new_database)
    try:
        await load_orders(factory, io.BytesIO((DATA / "orders.csv").read_bytes()), "orders.csv")
        real = files_module._has_orders
        looks: list[bool] = []

        async def stale_look(session: AsyncSession) -> bool:
            found = await real(session)
            looks.append(found)
            return found and len(looks) > 1  # the look before the transaction saw none

        monkeypatch.setattr(files_module, "_has_orders", stale_look)
        spy = Spy(monkeypatch)
        report = await first_load(factory)
        # SQLite: the transaction without checks found the orders and started over with them
        assert spy.checked == ([False, True] if backend == "sqlite" else [True])
        assert (report.created, report.customers_created) == (4, 2)
    finally:
        await engine.dispose()


async def test_import_orders_refuses_to_write_without_checks_into_a_shop_with_orders(
    backend: str, new_database: Callable[[], Awaitable[str]]
) -> None:
    if backend != "sqlite":
        pytest.skip("foreign-key checks cannot be switched off on PostgreSQL")
    engine, factory, _ = await shop(new_database)
    try:
        await first_load(factory)
        before = await stored(factory)
        with pytest.raises(NotAFirstLoad):
            async with write_unit_of_work(factory, foreign_keys=False) as session:
                await import_orders(
                    session, io.BytesIO((DATA / "orders.csv").read_bytes()), "orders.csv"
                )
        assert await stored(factory) == before
    finally:
        await engine.dispose()


async def _vacuumed(factory: SessionFactory) -> dict[str, bool]:
    """PostgreSQL: for each table the load writes, whether it was vacuumed and analyzed."""
    async with factory() as session:
        found = await session.execute(
            text(
                "SELECT relname, last_vacuum IS NOT NULL AND last_analyze IS NOT NULL"
                " FROM pg_stat_user_tables WHERE relname IN ('customers', 'orders', 'order_lines')"
            )
        )
        return {name: bool(done) for name, done in found.all()}


@pytest.mark.parametrize("threshold", [6, 7])  # the load accepts 6 lines
async def test_a_large_load_settles_the_tables_it_wrote(
    backend: str,
    new_database: Callable[[], Awaitable[str]],
    monkeypatch: pytest.MonkeyPatch,
    threshold: int,
) -> None:
    monkeypatch.setattr(files_module, "SETTLE_FROM_LINES", threshold)
    engine, factory, _ = await shop(new_database)
    try:
        report = await first_load(factory)
        assert report.accepted == 6
        if backend == "sqlite":
            return  # nothing to settle, and no VACUUM (ANALYZE) statement sent
        settled = threshold <= report.accepted
        assert await _vacuumed(factory) == dict.fromkeys(
            ("customers", "orders", "order_lines"), settled
        )
    finally:
        await engine.dispose()
