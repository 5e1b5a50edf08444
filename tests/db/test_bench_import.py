"""`trustcart bench --only import` at a small size: it imports what it generated and says so."""

from __future__ import annotations

import re
from pathlib import Path

from bot.bench import BenchOptions, bench_import, plain_executemany_rate


async def test_the_import_bench_imports_every_generated_line(
    database_url: str, tmp_path: Path
) -> None:
    out = await bench_import(BenchOptions(lines=3_000, database_url=database_url, workdir=tmp_path))

    orders = next(line for line in out if line.startswith("orders from orders.csv"))
    assert orders.startswith("orders from orders.csv: 3000 rows accepted, 0 rejected;")
    yardstick = next(line for line in out if line.startswith("yardstick:"))
    found = re.search(r"the import costs ([\d.]+)× that", yardstick)
    assert found is not None and float(found.group(1)) > 1.0  # parsing is never free
    assert any(re.fullmatch(r"peak RSS: [\d,]+ MB, parser process [\d,]+ MB", line) for line in out)


def test_the_yardstick_gives_a_rate_and_leaves_no_database_behind(tmp_path: Path) -> None:
    assert plain_executemany_rate(tmp_path, 10_000) > 0
    assert not (tmp_path / "plain.db").exists()
