"""`trustcart import …` end to end: exit 0 with rejected rows (the good ones kept), 1 when refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import get_settings
from core.db import make_engine, make_session_factory
from core.models import Order

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"


@pytest.fixture
def use_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def point_at(url: str) -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()

    yield point_at
    get_settings.cache_clear()


def count_orders(url: str) -> int:
    async def count() -> int:
        engine = make_engine(url)
        try:
            async with make_session_factory(engine)() as session:
                return int(await session.scalar(select(func.count()).select_from(Order)) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_rejected_rows_exit_0_and_a_refused_file_exits_1(
    database_url: str, use_database: Callable[[str], None], tmp_path: Path
) -> None:
    use_database(database_url)
    runner = CliRunner()
    products = runner.invoke(app, ["import", "products", str(DATA / "products.csv")])
    assert products.exit_code == 0, products.output

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,phone,ordered_at,sku,quantity,unit,unit_price\n"
        "C1,01711000001,2025-01-05,RICE-5KG,1,pack,450\n"
        "C2,01711000001,2025-01-06,NOPE-1,1,,10\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", "orders", str(orders)])
    assert result.exit_code == 0, result.output
    assert "1 rows accepted, 1 rejected" in result.stdout
    assert "line 3: unknown product sku 'NOPE-1'" in result.stdout
    assert count_orders(database_url) == 1

    refused = tmp_path / "refused.csv"
    refused.write_text(
        "order_id,phone,ordered_at,sku,unit_price\nC3,01711000001,2025-01-05,RICE-5KG,450\n"
    )
    result = runner.invoke(app, ["import", "orders", str(refused)])
    assert result.exit_code == 1
    assert "required column quantity missing from the header" in result.stderr
    assert count_orders(database_url) == 1

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["import", "customers", str(empty)])
    assert result.exit_code == 1
    assert "the file is empty" in result.stderr
