"""orders.csv parsed by the worker process (large files) and bulk loads: same rows, same report.

The worker runs the same parser as an import in one process; these tests force it on small
files and check that what is stored and reported does not depend on the door taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import core.ingest.orders as orders_module
from core.ingest import ImportReport, import_orders, import_products
from core.models import Order
from tests.db.test_ingest_csv import BAD_ORDERS, DATA, lines_of, load, snapshot


async def import_file(session: AsyncSession, path: Path, **options: Any) -> ImportReport:
    """Import an orders file from disk in its own committed transaction."""
    await session.commit()
    with path.open("rb") as stream:
        async with session.begin():
            report: ImportReport = await import_orders(session, stream, path.name, **options)
    return report


def rejections(report: ImportReport) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in report.rejected]


async def test_the_worker_rejects_and_stores_what_one_process_does(
    session: AsyncSession, tmp_path: Path
) -> None:
    await load(session, import_products, (DATA / "products.csv").read_bytes(), "products.csv")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(BAD_ORDERS.encode("utf-8").replace("CAFÉ".encode(), b"CAF\xc9"))
    in_process = await load(session, import_orders, bad.read_bytes(), "bad.csv")
    before = await snapshot(session)

    report = await import_file(session, bad, parallel=True)
    assert rejections(report) == rejections(in_process)
    assert len(report.rejected) == 13
    assert (report.accepted, report.created, report.unchanged) == (3, 0, 3)
    assert await snapshot(session) == before


async def test_the_worker_refuses_a_file_whole(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(b"order_id,ordered_at,sku,quantity,unit_price\nX1,2025-01-01,R,1,450\n")
    report = await import_file(session, path, parallel=True)
    assert report.refused == "the header needs a column phone or customer_ref"
    assert await session.scalar(select(func.count()).select_from(Order)) == 0


async def test_the_worker_sends_every_order_in_batches_and_reports_progress(
    session: AsyncSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orders_module, "BATCH_ORDERS", 1)  # every order its own batch
    await load(session, import_products, (DATA / "products.csv").read_bytes(), "products.csv")
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,phone,ordered_at,sku,quantity,unit,unit_price\n"
        "S1,01711000001,2025-01-05,RICE-5KG,1,pack,450\n"
        "S2,০১৭১১০০০০০১,২০২৫-০১-০৬,OIL-1L,১,লিটার,৩২০\n"
        "S3,01711000001,2025-01-07T18:30,OIL-1L,1,l,320\n"
        "S1,01711000001,2025-01-05,EGG-12,1,pack,170\n"
        "S1,01711000001,2025-01-05,RICE-5KG,1,pack,450\n",
        encoding="utf-8",
    )
    seen: list[tuple[int, int]] = []
    report = await import_file(
        session, path, parallel=True, on_progress=lambda done, total: seen.append((done, total))
    )
    assert rejections(report) == [
        (6, "duplicate line: order S1 already has it (its line 1, stored earlier from this file)")
    ]
    assert (report.accepted, report.created, report.customers_created) == (4, 3, 1)
    assert [x[0] for x in await lines_of(session, "S1")] == ["RICE-5KG", "EGG-12"]
    size = path.stat().st_size
    assert seen and seen[-1] == (size, size)
    again = await import_file(session, path, parallel=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
