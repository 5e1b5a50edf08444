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

import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bench import BenchOptions, peak_rss_mb, write_shop
from bot.bench_duckdb import compare_with_duckdb, our_checksum
from bot.migrate import upgrade
from core.daily import run_cadence
from core.db import is_postgres, make_engine, make_session_factory
from core.ingest import import_customers, import_orders, import_products
from core.models import Agent
from core.shopconfig import apply_config, load_config_dir

AS_OF = date(2025, 3, 27)  # the day after the generated orders end
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
    for path, importer in (
        (products, import_products),
        (customers, import_customers),
        (orders, import_orders),
    ):
        with path.open("rb") as stream:
            async with sessions() as session, session.begin():
                await importer(session, stream, path.name)
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
            out.extend(_duckdb_lines(compared, ours, ours_seconds, reminders_seconds))
        finally:
            await engine.dispose()
    out.append(f"database: {url.split('@')[-1]}")
    out.append(f"peak RSS: {peak_rss_mb():,.0f} MB")
    return out


def _duckdb_lines(
    compared: tuple[float, tuple[int, ...]] | None,
    ours: tuple[int, ...],
    ours_seconds: float,
    reminders_seconds: float,
) -> list[str]:
    """The DuckDB comparison: same lines found, and our time / DuckDB's."""
    if compared is None:
        return ["DuckDB comparison skipped: duckdb is not installed (pip install -e '.[bench]')"]
    seconds, theirs = compared
    same = "same lines" if theirs == ours else f"DIFFERENT (ours {ours}, DuckDB {theirs})"
    return [
        f"reminder query (rows, Σ line id, Σ days, Σ purchases) = {ours}: {same}",
        f"reminder query: ours {ours_seconds:.1f} s, DuckDB {seconds:.2f} s "
        f"(×{ours_seconds / seconds:.1f})",
        f"reminders step {reminders_seconds:.1f} s / DuckDB query {seconds:.2f} s = "
        f"×{reminders_seconds / seconds:.1f}",
    ]


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _machine() -> str:
    """CPUs, load average and Python: what the figures were taken on."""
    return (
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()}, "
        f"Python {platform.python_version()}, load average {_load()}"
    )
