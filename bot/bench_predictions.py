"""Benchmark of the predictions step on a synthetic shop built straight into a temporary SQLite file."""

from __future__ import annotations

import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine

from core.db import Base, make_engine, make_session_factory
from core.predictions import bgnbd, gammagamma
from core.predictions.config import PredictionsConfig
from core.predictions.scoring import FitOutcome, score
from core.predictions.step import record_fit, write_scores
from core.predictions.summary import summary_arrays
from core.predictions.synthetic import simulate_orders

START = date(2025, 1, 1)
HISTORY_DAYS = 365
CHUNK = 200_000


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_shop(path: Path, n_customers: int, seed: int = 1) -> int:
    """Create the schema and bulk-insert customers and their simulated orders; returns orders."""
    sync = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(sync)
    sync.dispose()
    sim = simulate_orders(n_customers, HISTORY_DAYS, seed=seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    now = "2026-01-01 00:00:00.000000"
    con.executemany(
        "INSERT INTO customers (id, phone, name, language, created_at, marketing_consent,"
        " whatsapp_status, phone_valid, order_count, total_spend, customer_type,"
        " lifecycle_stage, priority_level, tier)"
        " VALUES (?, ?, '', 'bn', ?, 1, 'unknown', 1, 0, 0, 'new', 'prospect', 'warm', 'none')",
        ((i + 1, f"+8801{i:09d}", now) for i in range(n_customers)),
    )
    # Orders arrive in time order, as from the ERP: a customer's orders are scattered on disk.
    in_time = np.lexsort((sim.customer, sim.day))
    customer, day, total = sim.customer[in_time], sim.day[in_time], sim.total[in_time]
    base = np.datetime64(START.isoformat(), "D")
    for lo in range(0, customer.size, CHUNK):
        hi = min(lo + CHUNK, customer.size)
        days = (base + day[lo:hi].astype("timedelta64[D]")).astype(str).tolist()
        con.executemany(
            "INSERT INTO orders (id, external_id, customer_id, ordered_at, order_date, status,"
            " total, source, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'delivered', ?, 'demo', ?, ?)",
            (
                (i + 1, f"b{i + 1}", c + 1, f"{d} 06:00:00.000000", d, t, now, now)
                for i, c, d, t in zip(
                    range(lo, hi),
                    customer[lo:hi].tolist(),
                    days,
                    total[lo:hi].tolist(),
                    strict=True,
                )
            ),
        )
    con.commit()
    con.close()
    return int(sim.customer.size)


async def bench_predictions(
    n_customers: int = 1_000_000, echo: Callable[[str], Any] = print, workdir: Path | None = None
) -> dict:
    """Time summary SQL, BG/NBD fit, Gamma-Gamma fit and scoring+writing on a synthetic shop."""
    figures: dict[str, Any] = {"customers": n_customers}
    as_of = START + timedelta(days=HISTORY_DAYS)
    cfg = PredictionsConfig()
    with tempfile.TemporaryDirectory(prefix="trustcart-pred-", dir=workdir) as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        figures["orders"] = build_shop(path, n_customers)
        figures["build_seconds"] = round(time.perf_counter() - started, 2)
        echo(
            f"built {n_customers:,} customers, {figures['orders']:,} orders "
            f"in {figures['build_seconds']} s (not timed below)"
        )
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        phases: dict[str, float] = {}

        cpu_at = [time.process_time()]

        def done(name: str, since: float) -> float:
            # Wall time is what counts; CPU time (this process, the SQLite thread included)
            # shows how much of it was waiting when the machine is shared.
            phases[name] = round(time.perf_counter() - since, 2)
            cpu = time.process_time() - cpu_at[0]
            cpu_at[0] = time.process_time()
            echo(
                f"{name:<18} {phases[name]:>7.2f} s  (CPU {cpu:6.2f} s)"
                f"   peak RSS {peak_rss_mb():,.0f} MB"
            )
            return time.perf_counter()

        try:
            async with make_session_factory(engine)() as session:
                t = time.perf_counter()
                cpu_at[0] = time.process_time()
                summary = await summary_arrays(session, as_of)
                t = done("summary SQL", t)
                bg = bgnbd.fit(summary.frequency, summary.recency, summary.age)
                t = done("BG/NBD fit", t)
                gg = gammagamma.fit(summary.frequency, summary.mean_repeat_value)
                t = done("Gamma-Gamma fit", t)
                model = await record_fit(session, as_of, FitOutcome("fitted", None, bg, gg))
                scores = score(summary, bg, gg, cfg)
                t = done("scoring", t)
                written, _ = await write_scores(session, as_of, model.id, scores)
                await session.commit()
                done("writing", t)
        finally:
            await engine.dispose()
    figures |= {
        "phases_seconds": phases,
        "total_seconds": round(sum(phases.values()), 2),
        "peak_rss_mb": round(peak_rss_mb()),
        "scored": written,
        "bgnbd": bg.as_dict(),
        "gamma_gamma": gg.as_dict(),
    }
    echo(
        f"{'total':<18} {figures['total_seconds']:>7.2f} s   peak RSS {figures['peak_rss_mb']:,} MB"
    )
    return figures


async def bench_predictions_entry(options: Any) -> list[str]:
    """Entry for `trustcart bench` (BENCHES["predictions"]): --lines is the number of customers."""
    lines: list[str] = []
    n = int(getattr(options, "lines", 1_000_000))
    await bench_predictions(n, echo=lines.append, workdir=getattr(options, "workdir", None))
    return lines
