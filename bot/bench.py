"""`trustcart bench`: generate a large shop as CSV files and measure how fast it imports.

Each benchmark is a coroutine in `BENCHES` (name → coroutine taking `BenchOptions` and returning
lines to print); other areas add theirs there. `import` streams a shop with N order lines into a
fresh migrated database and reports order lines per second and the process's peak memory, next
to what plain `sqlite3.executemany` does on the same machine at the same moment (the issue
states its goal against that yardstick: a shared machine's speed varies by 2× within a day).
"""

from __future__ import annotations

import csv
import importlib
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bot.migrate import upgrade
from core.db import make_engine, make_session_factory
from core.digits import to_bangla_digits
from core.ingest import ImportReport, load_csv

ProgressFactory = Callable[[str, int], Callable[[int, int], None] | None]

# (sku, name, category, pack size, unit, price)
_CATALOGUE = [
    ("RICE-MINI-5KG", "Miniket rice 5 kg", "rice", "5", "kg", "450"),
    ("RICE-NAZ-5KG", "Nazirshail rice 5 kg", "rice", "5", "kg", "520"),
    ("RICE-CHINI-1KG", "Chinigura rice 1 kg", "rice", "1", "kg", "160"),
    ("OIL-MUST-1L", "Mustard oil 1 l", "oil", "1", "l", "320"),
    ("OIL-SOY-5L", "Soybean oil 5 l", "oil", "5", "l", "850"),
    ("GHEE-500G", "Cow ghee 500 g", "ghee", "500", "g", "750"),
    ("SPICE-TURM-200G", "Turmeric 200 g", "spices", "200", "g", "120"),
    ("SPICE-CHILI-200G", "Chili powder 200 g", "spices", "200", "g", "110"),
    ("SPICE-CUMIN-100G", "Cumin 100 g", "spices", "100", "g", "140"),
    ("HONEY-500G", "Sundarbans honey 500 g", "honey", "500", "g", "650"),
    ("HONEY-1KG", "Mustard flower honey 1 kg", "honey", "1", "kg", "900"),
    ("DAL-MASUR-1KG", "Masur dal 1 kg", "lentils", "1", "kg", "140"),
    ("DAL-MUG-1KG", "Mug dal 1 kg", "lentils", "1", "kg", "160"),
    ("TEA-HERB-100G", "Tulsi tea 100 g", "herbal_tea", "100", "g", "220"),
    ("DRYFRUIT-250G", "Mixed dry fruit 250 g", "dry_fruit", "250", "g", "480"),
    ("SUGAR-1KG", "Brown sugar 1 kg", "sugar", "1", "kg", "150"),
    ("ATTA-2KG", "Whole wheat atta 2 kg", "flour", "2", "kg", "180"),
    ("EGG-12", "Farm eggs 12 pcs", "eggs", "12", "pcs", "170"),
    ("TEA-BLACK-400G", "Sylhet tea 400 g", "tea", "400", "g", "260"),
    ("MILK-1L", "Cow milk 1 l", "dairy", "1", "l", "110"),
]


@dataclass
class BenchOptions:
    lines: int = 1_000_000
    database_url: str | None = None
    workdir: Path | None = None
    seed: int = 7
    customers: int | None = None  # default: lines // 10
    progress: ProgressFactory | None = None


def _phone_forms(rng: random.Random, national: str) -> str:
    """A customer's number as an ERP clerk might have typed it."""
    form = rng.random()
    if form < 0.55:
        return "0" + national
    if form < 0.75:
        return "+880" + national
    if form < 0.85:
        return f"880 {national[:4]}-{national[4:]}"
    if form < 0.95:
        return f"0{national[:4]}-{national[4:]}"
    return to_bangla_digits("0" + national)


def write_shop(
    directory: Path, lines: int, seed: int = 7, customers: int | None = None
) -> tuple[Path, Path, Path]:
    """Write products.csv, customers.csv and orders.csv with about `lines` order lines."""
    rng = random.Random(seed)
    n_customers = max(10, customers or lines // 10)
    products, customers_csv, orders = (
        directory / f"{n}.csv" for n in ("products", "customers", "orders")
    )
    with products.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["sku", "name", "category", "pack_size", "unit", "price"])
        out.writerows(_CATALOGUE)
    numbers = [f"1{rng.choice('3456789')}{n:08d}" for n in rng.sample(range(10**8), n_customers)]
    with customers_csv.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["phone", "name", "customer_ref", "district", "marketing_consent"])
        districts = ("Dhaka", "Chattogram", "Sylhet", "Rajshahi", "Khulna", "Barishal")
        for i, national in enumerate(numbers):
            consent = "yes" if rng.random() < 0.9 else "no"
            out.writerow(
                ["0" + national, f"Customer {i}", f"C{i:07d}", rng.choice(districts), consent]
            )
    start = date(2024, 1, 1)
    written = 0
    order_no = 0
    with orders.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            ["order_id", "phone", "ordered_at", "sku", "quantity", "unit", "unit_price", "status"]
        )
        while written < lines:
            order_no += 1
            phone = _phone_forms(rng, rng.choice(numbers))
            # as in an ERP export, order numbers follow the order dates (spread evenly)
            day = start + timedelta(days=written * 450 // lines)
            at = (
                day.isoformat()
                if rng.random() < 0.5
                else f"{day}T{rng.randrange(8, 22):02d}:{rng.randrange(60):02d}"
            )
            status = (
                "delivered"
                if rng.random() < 0.9
                else rng.choice(("pending", "cancelled", "returned"))
            )
            count = min(lines - written, rng.randint(1, 5))
            for sku, _name, _cat, size, _unit, price in rng.sample(_CATALOGUE, count):
                how = rng.random()
                if how < 0.6:
                    qty, line_unit, unit_price = str(rng.randint(1, 3)), "pack", price
                elif how < 0.9:
                    qty, line_unit, unit_price = size, "", str(round(float(price) / float(size), 2))
                else:
                    qty, line_unit, unit_price = str(rng.randint(1, 3)), "প্যাকেট", price
                out.writerow(
                    [f"ERP-{order_no:08d}", phone, at, sku, qty, line_unit, unit_price, status]
                )
            written += count
    return products, customers_csv, orders


def plain_executemany_rate(directory: Path, rows: int) -> float:
    """Rows/s of plain `sqlite3.executemany` of already-built order-line rows (a yardstick).

    Into an unindexed table of a fresh file database with the project's pragmas (WAL,
    synchronous=NORMAL), one transaction, the commit included: what an import would cost with
    no parsing, no validation, no constraint and no index.
    """
    path = directory / "plain.db"
    rows_list = [
        (i // 3 + 1, i % 3 + 1, i % 20 + 1, float(i % 3 + 1), "kg", 1000.0 * (i % 3 + 1),
         95.5 + i % 7, 191.0 + i % 11)
        for i in range(rows)
    ]  # fmt: skip
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            "CREATE TABLE plain (order_id, line_no, product_id, quantity, unit, base_quantity, "
            "unit_price, amount)"
        )
        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO plain VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows_list)
        connection.execute("COMMIT")
        return rows / (time.perf_counter() - started)
    finally:
        connection.close()
        path.unlink(missing_ok=True)


def _plain_rate_elsewhere(directory: Path, rows: int) -> float:
    """`plain_executemany_rate` in a child process (this one's peak memory stays the import's)."""
    code = (
        "import sys; from pathlib import Path; from bot.bench import plain_executemany_rate; "
        "print(plain_executemany_rate(Path(sys.argv[1]), int(sys.argv[2])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(directory), str(rows)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(done.stdout)


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """CPU time used so far by this process (all threads), or by its ended child processes."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory so far of this process, or of the largest ended child, in MB."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def bench_import(options: BenchOptions) -> list[str]:
    """Generate a shop with `options.lines` order lines and import it into a fresh database."""
    with tempfile.TemporaryDirectory(prefix="trustcart-bench-", dir=options.workdir) as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        products, customers, orders = write_shop(directory, options.lines, options.seed)
        generated = time.perf_counter() - started
        url = options.database_url or f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        engine = make_engine(url)
        try:
            await upgrade(engine)
            sessions = make_session_factory(engine)
            reports: list[tuple[ImportReport, float, float, float]] = []
            for kind, path in (
                ("products", products),
                ("customers", customers),
                ("orders", orders),
            ):
                size = path.stat().st_size
                on_progress = options.progress(path.name, size) if options.progress else None
                began, cpu = time.perf_counter(), cpu_seconds()
                worker_cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
                with path.open("rb") as stream:  # as `trustcart import KIND FILE` does
                    report = await load_csv(
                        sessions, kind, stream, path.name, on_progress=on_progress
                    )
                worker_cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - worker_cpu
                reports.append(
                    (report, time.perf_counter() - began, cpu_seconds() - cpu, worker_cpu)
                )
        finally:
            await engine.dispose()
        main_rss, worker_rss = peak_rss_mb(), peak_rss_mb(resource.RUSAGE_CHILDREN)
        plain = _plain_rate_elsewhere(directory, options.lines)
    out = [f"generated {options.lines:,} order lines in {generated:.1f} s", f"database: {url}"]
    for report, seconds, cpu, worker_cpu in reports:
        rows = report.accepted + len(report.rejected)
        parser = f" + {worker_cpu:.2f} s in the parser process" if worker_cpu else ""
        out.append(
            f"{report.summary()} in {seconds:.2f} s, {cpu:.2f} s CPU{parser} "
            f"({rows / seconds:,.0f} rows/s)"
        )
    orders_report, seconds, cpu, worker_cpu = reports[-1]
    out.append(
        f"orders import: {orders_report.accepted / seconds:,.0f} order lines/s; "
        f"{orders_report.accepted / max(cpu, worker_cpu):,.0f}/s on two idle cores "
        f"(lines / the busier process's CPU seconds); the machine's load: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    rate = orders_report.accepted / seconds
    out.append(
        f"yardstick: plain sqlite3.executemany of {options.lines:,} built rows into an unindexed "
        f"table does {plain:,.0f} rows/s here now; the import costs {plain / rate:.1f}× that "
        f"(the goal: 150,000/s where it does 1,100,000/s, i.e. at most {1_100_000 / 150_000:.1f}×)"
    )
    out.append(f"peak RSS: {main_rss:,.0f} MB, parser process {worker_rss:,.0f} MB")
    return out


Bench = Callable[[BenchOptions], Awaitable[list[str]]]
# name -> the benchmark, or "module:function" imported when it runs (so that a section may live
# in its own module, which imports BenchOptions from here)
BENCHES: dict[str, Bench | str] = {
    "import": bench_import,
    "predictions": "bot.bench_predictions:bench_predictions_entry",
    "whatsapp": "bot.bench_whatsapp:bench_whatsapp",
    "cadence": "bot.bench_cadence:bench_cadence",
    "telegram": "bot.bench_telegram:bench_telegram",
}


def resolve_bench(name: str) -> Bench:
    """The benchmark coroutine function registered under a name."""
    target = BENCHES[name]
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        found: Bench = getattr(importlib.import_module(module), attr)
        return found
    return target
