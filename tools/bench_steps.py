"""Developer tool: time cadence steps on a saved bench shop instead of rebuilding it each time.

    python tools/bench_steps.py build --lines 2000000 --customers 250000 --sqlite /work/bench/s2m.db
    python tools/bench_steps.py build --lines 2000000 --customers 250000 --pg bench_s2m
    python tools/bench_steps.py run --sqlite /work/bench/s2m.db [--steps segments,membership]
    python tools/bench_steps.py run --pg bench_s2m [--steps ...] [--keep]

`build` makes the cadence benchmark's shop (bot.bench_cadence.build_shop: the same generated
data, config and agents) once. `run` copies it (a file copy, or CREATE DATABASE … TEMPLATE on the
local PostgreSQL), upgrades the copy to the current migrations, runs the listed steps of the
cadence for the bench's date (all steps when none are listed; steps not listed are "off") and
prints each step's seconds and counts, the process's CPU seconds and peak RSS, and the load
(`--statements N`: also the N slowest SQL statements).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bench import BenchOptions, peak_rss_mb
from bot.bench_cadence import AS_OF, CONFIG_DIR, build_shop, duckdb_lines, run_next_day
from bot.bench_duckdb import compare_with_duckdb, our_checksum
from bot.migrate import upgrade
from core.daily import STEPS, run_cadence
from core.db import SessionFactory, make_engine, make_session_factory
from core.shopconfig import load_config_dir

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def build(args: argparse.Namespace) -> None:
    options = BenchOptions(lines=args.lines, customers=args.customers or None)
    if args.pg:
        await _admin(f'DROP DATABASE IF EXISTS "{args.pg}"')
        await _admin(f'CREATE DATABASE "{args.pg}"')
        url = PG + args.pg
    else:
        url = f"sqlite+aiosqlite:///{args.sqlite}"
    engine = make_engine(url)
    try:
        with tempfile.TemporaryDirectory(prefix="trustcart-steps-") as tmp:
            for line in await build_shop(engine, Path(tmp), options):
                print(line)
    finally:
        await engine.dispose()
    print(f"saved: {args.pg or args.sqlite}")


class StatementTimes:
    """Seconds per SQL statement (by its first words), from the engine's cursor events."""

    def __init__(self, engine: AsyncEngine, dump: str | None = None) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.dump = dump  # a file for the full text and parameters of statements over 1 s
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("statement_began", []).append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        began = conn.info["statement_began"].pop()
        key = " ".join(statement.split())[:150]
        seconds = time.perf_counter() - began
        self.seconds[key] += seconds
        if self.dump and seconds > 1:
            with open(self.dump, "a") as out:
                out.write(f"-- {seconds:.2f} s\n{statement}\n-- parameters: {args[0]!r}\n\n")
        self.calls[key] += 1

    def lines(self, top: int) -> list[str]:
        slowest = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:top]
        return [f"{s:8.2f} s {self.calls[k]:6}×  {k}" for k, s in slowest]


async def run(args: argparse.Namespace) -> None:
    steps = [s for s in args.steps.split(",") if s] if args.steps else list(STEPS)
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise SystemExit(f"unknown steps: {', '.join(sorted(unknown))} (of: {', '.join(STEPS)})")
    tmpdir = None
    copy = None
    if args.pg:
        copy = f"{args.pg}_run_{uuid.uuid4().hex[:8]}"
        began = time.perf_counter()
        await _admin(f'CREATE DATABASE "{copy}" TEMPLATE "{args.pg}"')
        print(f"copied {args.pg} → {copy} in {time.perf_counter() - began:.1f} s")
        url = PG + copy
    else:
        tmpdir = tempfile.mkdtemp(prefix="trustcart-steps-", dir=args.workdir)
        target = Path(tmpdir) / "bench.db"
        shutil.copyfile(args.sqlite, target)
        url = f"sqlite+aiosqlite:///{target}"
    engine = make_engine(url)
    times = StatementTimes(engine, args.dump_slow) if args.statements else None
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        if args.duckdb:
            for line in await _duckdb(engine, sessions):
                print(line)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        began = time.perf_counter()
        if not args.skip_first:
            report = await run_cadence(sessions, AS_OF, only=steps)
            total = time.perf_counter() - began
            for s in report.steps:
                if s.status != "off":
                    print(f"{s.name:16} {s.seconds:7.2f} s  {s.status}  {s.counts}")
            if report.analyzed:
                print(f"re-analyzed: {', '.join(report.analyzed)}")
            print(f"first day {AS_OF}: {total:.2f} s wall")
        if args.next_day:
            with tempfile.TemporaryDirectory(prefix="trustcart-next-") as tmp:
                for line in await run_next_day(
                    sessions, Path(tmp), args.next_day, only=steps, details=True
                ):
                    print(line)
        if times is not None:
            print("slowest statements (of every run above):")
            for line in times.lines(args.statements):
                print(line)
        after = resource.getrusage(resource.RUSAGE_SELF)
        used = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
        print(
            f"in all {time.perf_counter() - began:.2f} s wall, {used:.2f} s CPU in this process; "
            f"peak RSS {peak_rss_mb():,.0f} MB; load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
        )
    finally:
        await engine.dispose()
        if copy and not args.keep:
            await _admin(f'DROP DATABASE IF EXISTS "{copy}"')
        if tmpdir and not args.keep:
            shutil.rmtree(tmpdir, ignore_errors=True)
        if args.keep:
            print(f"kept: {copy or f'{tmpdir}/bench.db'}")


async def _duckdb(engine: AsyncEngine, sessions: SessionFactory) -> list[str]:
    """The reminder query timed on our database, then in DuckDB on a copy (bench-only extra)."""
    cfg = load_config_dir(CONFIG_DIR)
    began = time.perf_counter()
    async with sessions() as session:
        ours = await our_checksum(session, AS_OF, cfg)
    seconds = time.perf_counter() - began
    async with sessions() as session:
        compared = await compare_with_duckdb(engine, session, AS_OF, cfg)
    return duckdb_lines(compared, ours, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="generate and import a bench shop once")
    b.add_argument("--lines", type=int, default=2_000_000)
    b.add_argument("--customers", type=int, default=0)
    r = sub.add_parser("run", help="run cadence steps on a copy of a saved shop")
    r.add_argument("--steps", default="", help=f"comma-separated, of: {','.join(STEPS)}")
    r.add_argument("--keep", action="store_true", help="keep the copy")
    r.add_argument(
        "--duckdb", action="store_true",
        help="first time the reminder query here and in DuckDB on a copy (as the cadence bench)",
    )  # fmt: skip
    r.add_argument(
        "--skip-first", action="store_true",
        help="the saved shop already ran the first day (a copy kept with --keep): go to --next-day",
    )  # fmt: skip
    r.add_argument(
        "--next-day", type=int, default=0, metavar="LINES",
        help="then import LINES order lines of one more day and run the whole next day",
    )  # fmt: skip
    r.add_argument(
        "--statements", type=int, default=0, metavar="N",
        help="print the N statements that took longest (seconds summed over their calls)",
    )  # fmt: skip
    r.add_argument("--workdir", default=None)
    r.add_argument(
        "--dump-slow",
        default=None,
        help="with --statements: write statements over 1 s to this file",
    )
    for p in (b, r):
        where = p.add_mutually_exclusive_group(required=True)
        where.add_argument("--sqlite", help="the saved shop's SQLite file")
        where.add_argument("--pg", help="the saved shop's database on the local PostgreSQL")
    args = parser.parse_args()
    if args.command == "build" and args.sqlite:
        Path(args.sqlite).parent.mkdir(parents=True, exist_ok=True)
        Path(args.sqlite).unlink(missing_ok=True)
    asyncio.run(build(args) if args.command == "build" else run(args))


if __name__ == "__main__":
    main()
