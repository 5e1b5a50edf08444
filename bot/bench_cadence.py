"""`trustcart bench --only cadence`: the whole daily cadence on a large generated shop.

Generates the import benchmark's shop (`--customers`, default lines // 10, orders over 450 days
from 1 Jan 2024), imports it, applies config/, adds 20 agents, ANALYZEs it on PostgreSQL (as a
deployment's autovacuum would before the morning run), then runs every step of the cadence for
the day after the last order and prints each step's time, a second run's (nothing to do), the
machine (CPUs, load average) and the process's peak memory. Bench-only extra (bot.bench_duckdb):
the reminder query is timed on our database before the cadence, then in DuckDB on a copy, and
the bench prints whether both found the same lines and our time / DuckDB's.
"""

from __future__ import annotations

import csv
import os
import platform
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bench import BenchOptions, peak_rss_mb, write_shop
from bot.bench_duckdb import compare_with_duckdb, our_checksum
from bot.migrate import upgrade
from core.bulk import among
from core.daily import run_cadence
from core.db import SessionFactory, is_postgres, make_engine, make_session_factory
from core.ingest import ImportReport, import_orders, load_csv
from core.models import Agent, Customer, Product
from core.shopconfig import apply_config, load_config_dir

AS_OF = date(2025, 3, 27)  # the day after the generated orders end
HISTORY_DAYS = 450  # the generated orders' span (bot.bench.write_shop)
CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


async def build_shop(engine: AsyncEngine, directory: Path, options: BenchOptions) -> list[str]:
    """Generate and import the bench shop into a migrated `engine`, apply config/, add 20 agents,
    ANALYZE on PostgreSQL; the lines to print."""
    out: list[str] = []
    products, customers, orders = write_shop(
        directory, options.lines, options.seed, customers=options.customers
    )
    await upgrade(engine)
    sessions = make_session_factory(engine)
    began = time.perf_counter()
    for kind, path in (("products", products), ("customers", customers), ("orders", orders)):
        with path.open("rb") as stream:
            await load_csv(sessions, kind, stream, path.name)
    out.append(f"imported {options.lines:,} order lines in {time.perf_counter() - began:.1f} s")
    cfg = load_config_dir(CONFIG_DIR)
    async with sessions() as session, session.begin():
        await apply_config(session, cfg)
        session.add_all(
            Agent(name=f"Agent {i}", senior=i < 5, districts=[], daily_capacity=60)
            for i in range(20)
        )
    if is_postgres(engine):
        began = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        out.append(f"ANALYZE after the import: {time.perf_counter() - began:.1f} s")
    return out


async def bench_cadence(options: BenchOptions) -> list[str]:
    """Import a shop of `options.lines` order lines, then time each cadence step."""
    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="trustcart-cadence-", dir=options.workdir) as tmp:
        directory = Path(tmp)
        url = options.database_url or f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        engine = make_engine(url)
        try:
            out.extend(await build_shop(engine, directory, options))
            sessions = make_session_factory(engine)
            cfg = load_config_dir(CONFIG_DIR)
            out.append(_machine())
            began = time.perf_counter()
            async with sessions() as session:
                ours = await our_checksum(session, AS_OF, cfg)
            ours_seconds = time.perf_counter() - began
            reminders_seconds = 0.0
            for label in ("first run", "second run"):
                began = time.perf_counter()
                report = await run_cadence(sessions, AS_OF)
                total = time.perf_counter() - began
                steps = ", ".join(f"{s.name} {s.seconds:.1f}s ({s.status})" for s in report.steps)
                out.append(f"cadence {AS_OF} {label}: {total:.1f} s — {steps}")
                if report.analyzed:
                    out.append(f"  re-analyzed before steps: {', '.join(report.analyzed)}")
                if label == "first run":
                    reminders_seconds = sum(
                        s.seconds for s in report.steps if s.name == "reminders"
                    )
                    for s in report.steps:
                        out.append(f"  {s.name}: {s.counts}")
            out.append(f"peak RSS (import + cadence): {peak_rss_mb():,.0f} MB")
            out.append(f"load average after the cadence: {_load()}")
            async with sessions() as session:
                compared = await compare_with_duckdb(engine, session, AS_OF, cfg)
            out.extend(duckdb_lines(compared, ours, ours_seconds, reminders_seconds))
            out.extend(await run_next_day(sessions, directory, options.lines // HISTORY_DAYS))
        finally:
            await engine.dispose()
    out.append(f"database: {url.split('@')[-1]}")
    out.append(f"peak RSS: {peak_rss_mb():,.0f} MB")
    return out


async def import_next_day(
    sessions: SessionFactory, directory: Path, day: date, lines: int, seed: int = 11
) -> ImportReport:
    """Import one more day of orders (`lines` order lines on `day`) from existing customers:
    what the ERP sends between two morning runs."""
    rng = random.Random(seed)
    async with sessions() as session:
        skus = list((await session.scalars(select(Product.sku).order_by(Product.id))).all())
        last = int(await session.scalar(select(func.max(Customer.id))) or 0)
        picked = rng.sample(range(1, last + 1), min(last, max(1, lines // 3)))
        phones = list(
            (
                await session.scalars(
                    select(Customer.phone).where(among(session, Customer.id, picked))
                )
            ).all()
        )
    path = directory / f"orders-{day.isoformat()}.csv"
    written = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["order_id", "phone", "ordered_at", "sku", "quantity", "unit_price"])
        n = 0
        while written < lines:
            n += 1
            count = min(lines - written, rng.randint(1, 5))
            phone = rng.choice(phones)
            at = f"{day}T{rng.randrange(8, 22):02d}:{rng.randrange(60):02d}"
            for sku in rng.sample(skus, count):
                out.writerow([f"ERP-{day:%Y%m%d}-{n:07d}", phone, at, sku, rng.randint(1, 3), 100])
            written += count
    with path.open("rb") as stream:
        async with sessions() as session, session.begin():
            return await import_orders(session, stream, path.name)


async def run_next_day(
    sessions: SessionFactory,
    directory: Path,
    lines: int,
    *,
    only: Sequence[str] | None = None,
    details: bool = False,
) -> list[str]:
    """The steady state: a day of new orders (the shop's daily average), then the next morning's
    cadence — what a running shop does every day, after the first run over its history."""
    began = time.perf_counter()
    report = await import_next_day(sessions, directory, AS_OF, lines)
    imported = time.perf_counter() - began
    began = time.perf_counter()
    cadence = await run_cadence(sessions, AS_OF + timedelta(days=1), only=only)
    total = time.perf_counter() - began
    ran = [s for s in cadence.steps if s.status != "off"]
    out = [
        f"next day: {report.accepted:,} new order lines on {AS_OF} imported in {imported:.1f} s",
        f"cadence {AS_OF + timedelta(days=1)} (steady state): {total:.1f} s — "
        + ", ".join(f"{s.name} {s.seconds:.1f}s" for s in ran),
    ]
    if details:
        out.extend(f"  {s.name}: {s.counts}" for s in ran)
    return out


def duckdb_lines(
    compared: tuple[float, tuple[int, ...]] | None,
    ours: tuple[int, ...],
    ours_seconds: float,
    reminders_seconds: float | None = None,
) -> list[str]:
    """The DuckDB comparison: same lines found, and our time / DuckDB's (and the whole
    reminders step's, when given)."""
    if compared is None:
        return ["DuckDB comparison skipped: duckdb is not installed (pip install -e '.[bench]')"]
    seconds, theirs = compared
    same = "same lines" if theirs == ours else f"DIFFERENT (ours {ours}, DuckDB {theirs})"
    out = [
        f"reminder query (rows, Σ line id, Σ days, learnable rows) = {ours}: {same}",
        f"reminder query: ours {ours_seconds:.1f} s, DuckDB {seconds:.2f} s "
        f"(×{ours_seconds / seconds:.1f})",
    ]
    if reminders_seconds is not None:
        out.append(
            f"reminders step {reminders_seconds:.1f} s / DuckDB query {seconds:.2f} s = "
            f"×{reminders_seconds / seconds:.1f}"
        )
    return out


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _machine() -> str:
    """CPUs, load average and Python: what the figures were taken on."""
    return (
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()}, "
        f"Python {platform.python_version()}, load average {_load()}"
    )
