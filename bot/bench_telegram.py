"""`trustcart bench --only telegram`: server time of /today and a task tap under load.

A fresh database gets 1M customers, 50,000 open tasks (bulk-inserted) and 50 agents; then the
real PTB Application with our handlers processes updates from all 50 agents at once. Telegram
itself is replaced by an in-memory `BaseRequest` (no network), so the figures are our server
time: the handler, its database work and rendering, measured around `process_update`. Three
runs: 50 agents with 1–3 s between each one's taps (the goal: p95 ≤ 50 ms), one agent alone
(the cost of one update, with the process's CPU time per update), and all 50 at the same
instant. The machine's load average is printed too: the figures depend on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from telegram import Update
from telegram.ext import ApplicationBuilder, Defaults
from telegram.request import BaseRequest, RequestData

from bot.bench import BenchOptions
from bot.migrate import upgrade
from core.clock import SHOP_TZ, local_date, local_noon
from core.db import make_engine, make_session_factory, unit_of_work
from core.models import Agent, Customer, Order, OrderLine, Product, Task
from core.shopconfig import apply_config, load_config_dir
from core.tasks import task_priority
from handlers.telegram import register
from handlers.telegram.services import BotServices, install

TOKEN = "123456:BENCHMARKbenchmarkBENCHMARKbench"
BOT_ID = 123456
CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
THINK = (1.0, 3.0)  # seconds between one agent's taps
OUTCOME_TAPS = ("o", "n", "l:2h", "x:price", "s", "o", "w", "l:tomorrow")
_TASK = re.compile(r"^t:(\d+):o$")


class InMemoryTelegram(BaseRequest):
    """Answers Bot API calls like Telegram, in memory, and remembers each chat's last keyboard."""

    def __init__(self) -> None:
        self.message_ids = 0
        self.keyboards: dict[int, list[str]] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        # PTB types values as str | int | list | dict; the fake reads the fields it knows
        params: dict[str, Any] = request_data.parameters if request_data else {}
        result: Any = True
        if name == "getMe":
            result = {"id": BOT_ID, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
        elif name in ("sendMessage", "editMessageText"):
            chat_id = int(params["chat_id"])
            markup = params.get("reply_markup")
            if markup:
                rows = (
                    markup["inline_keyboard"]
                    if isinstance(markup, dict)
                    else json.loads(markup)["inline_keyboard"]
                )
                self.keyboards[chat_id] = [b.get("callback_data", "") for row in rows for b in row]
            else:
                self.keyboards[chat_id] = []
            self.message_ids += 1
            result = {
                "message_id": int(params.get("message_id", self.message_ids)),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": params["text"],
            }
        return 200, json.dumps({"ok": True, "result": result}).encode()


async def seed(
    sessions: Any, customers: int, tasks: int, agents: int, day: date, seed: int
) -> list[int]:
    """Bulk-insert the shop: customers, a few products and orders, agents, open tasks."""
    rng = random.Random(seed)
    async with unit_of_work(sessions) as session:
        await apply_config(session, load_config_dir(CONFIG_DIR))
    async with unit_of_work(sessions) as session:
        cat = (await session.execute(select(Product.category_id).limit(1))).scalar()
        if cat is None:
            from core.models import Category

            cat = (await session.execute(select(Category.id).limit(1))).scalar_one()
        products = [
            {
                "sku": f"SKU{i}",
                "name": f"Product {i}",
                "name_bn": f"পণ্য {i}",
                "category_id": cat,
                "pack_size": Decimal(1),
                "unit": "kg",
                "price": Decimal(300 + i * 10),
            }
            for i in range(10)
        ]
        await session.execute(insert(Product), products)
        product_ids = list((await session.scalars(select(Product.id))).all())
        agent_rows: list[dict[str, Any]] = [
            {
                "name": f"Agent {i}",
                "role": "agent",
                "telegram_user_id": 10_000 + i,
                "telegram_chat_id": 10_000 + i,
                "language": "bn" if i % 2 else "en",
                "active": True,
                "districts": [],
                "daily_capacity": tasks // agents,
            }
            for i in range(agents)
        ]
        await session.execute(insert(Agent), agent_rows)
        agent_ids = list((await session.scalars(select(Agent.id).order_by(Agent.id))).all())
    levels = ("hot", "warm", "cold")
    batch = 50_000
    for start in range(0, customers, batch):
        rows = [
            {
                "phone": f"+88017{n:08d}",
                "name": f"Customer {n}",
                "district": "Dhaka",
                "priority_level": levels[n % 3],
                "lifecycle_stage": "active",
                "customer_type": "repeat",
                "tier": "none",
                "order_count": 2,
                "total_spend": Decimal(rng.randint(500, 20000)),
                "last_order_date": day - timedelta(days=rng.randint(5, 90)),
                "assigned_agent_id": agent_ids[n % agents] if n < tasks else None,
            }
            for n in range(start, min(start + batch, customers))
        ]
        async with unit_of_work(sessions) as session:
            await session.execute(insert(Customer), rows)
    async with unit_of_work(sessions) as session:
        first_customer = (
            await session.scalar(select(Customer.id).order_by(Customer.id).limit(1))
        ) or 1
    orders, lines = [], []
    for n in range(tasks):
        for k in range(2):
            oid = n * 2 + k + 1
            d = day - timedelta(days=10 + 30 * k)
            orders.append(
                {
                    "id": oid,
                    "external_id": f"B{oid}",
                    "customer_id": first_customer + n,
                    "ordered_at": local_noon(d),
                    "order_date": d,
                    "status": "delivered",
                    "total": Decimal(900),
                }
            )
            lines.append(
                {
                    "order_id": oid,
                    "line_no": 1,
                    "product_id": product_ids[(n + k) % 10],
                    "quantity": Decimal(1),
                    "unit": "kg",
                    "base_quantity": Decimal(1000),
                    "unit_price": Decimal(900),
                    "amount": Decimal(900),
                }
            )
    async with unit_of_work(sessions) as session:
        for i in range(0, len(orders), batch):
            await session.execute(insert(Order), orders[i : i + batch])
            await session.execute(insert(OrderLine), lines[i : i + batch])
    task_rows = [
        {
            "dedupe_key": f"bench:{n}",
            "type": "reminder_call",
            "customer_id": first_customer + n,
            "agent_id": agent_ids[n % agents],
            "status": "open",
            "priority_level": levels[n % 3],
            "priority": task_priority(levels[n % 3], rng.randint(0, 20000)),
            "created_on": day,
            "due_date": day,
            "reason_bn": "চাল প্রায় শেষ হওয়ার কথা",
            "reason_en": "Rice should be running out",
            "suggestion": {
                "products": [
                    {
                        "sku": "SKU1",
                        "name": "Product 1",
                        "name_bn": "পণ্য ১",
                        "quantity": "5 kg",
                        "quantity_bn": "৫ কেজি",
                    }
                ],
                "offer_code": "RICE10",
                "confidence": "high",
            },
            "script_key": "script_reminder_call",
        }
        for n in range(tasks)
    ]
    async with unit_of_work(sessions) as session:
        for i in range(0, len(task_rows), 10_000):
            await session.execute(insert(Task), task_rows[i : i + 10_000])
    return agent_ids


def _update(update_id: int, user_id: int, **body: Any) -> dict[str, Any]:
    return {"update_id": update_id, **body}


def _command(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    return _update(
        update_id,
        user_id,
        message={
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "A"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    )


def _tap(update_id: int, user_id: int, message_id: int, data: str) -> dict[str, Any]:
    return _update(
        update_id,
        user_id,
        callback_query={
            "id": f"q{update_id}",
            "chat_instance": "c",
            "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": "A"},
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "text": "card",
            },
        },
    )


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def drive(
    application: Any,
    fake: InMemoryTelegram,
    users: list[int],
    taps: int,
    think: tuple[float, float] = (0.0, 0.0),
    seed: int = 7,
) -> dict[str, list[float]]:
    """Every agent at once: /today, open the first task, then tap outcomes through the queue,
    pausing `think` seconds (uniform) between taps like a person on the phone would."""
    timings: dict[str, list[float]] = {"today": [], "tap": []}
    counter = iter(range(1, 10**9))
    rng = random.Random(seed)

    async def timed(kind: str, data: dict[str, Any]) -> None:
        update = Update.de_json(data, application.bot)
        began = time.perf_counter()
        await application.process_update(update)
        timings[kind].append(time.perf_counter() - began)
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))

    async def agent(user_id: int) -> None:
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(0, think[1]))  # people do not start in step
        await timed("today", _command(next(counter), user_id, "/today"))
        await timed("tap", _tap(next(counter), user_id, 1, "q"))
        for i in range(taps):
            keys = fake.keyboards.get(user_id, [])
            task_id = next((m.group(1) for d in keys if (m := _TASK.match(d))), None)
            if task_id is None:
                break
            action = OUTCOME_TAPS[i % len(OUTCOME_TAPS)]
            await timed("tap", _tap(next(counter), user_id, 1, f"t:{task_id}:{action}"))
            if i % 5 == 4:
                await timed("today", _command(next(counter), user_id, "/today"))
                await timed("tap", _tap(next(counter), user_id, 1, "q"))

    await asyncio.gather(*(agent(u) for u in users))
    return timings


def _line(kind: str, values: list[float]) -> str:
    return (
        f"{kind:>5}: n={len(values):,} p50 {_p(values, 0.5):.1f} ms · p95 {_p(values, 0.95):.1f} ms"
        f" · p99 {_p(values, 0.99):.1f} ms · max {max(values) * 1000:.1f} ms"
    )


async def bench_telegram(options: BenchOptions) -> list[str]:
    """Seed 1M customers and 50,000 tasks, then 50 agents tap at once; p50/p95 server time."""
    customers = max(options.lines, 50_000)  # --lines: how many customers (default 1M)
    tasks, agents, taps = 50_000, 50, 20
    with tempfile.TemporaryDirectory(prefix="trustcart-bench-tg-", dir=options.workdir) as tmp:
        url = options.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        try:
            await upgrade(engine)
            sessions = make_session_factory(engine)
            now = datetime.now(UTC)
            day = local_date(now)
            began = time.perf_counter()
            agent_ids = await seed(sessions, customers, tasks, agents, day, options.seed)
            seeded = time.perf_counter() - began
            if url.startswith("sqlite"):  # start from a checkpointed WAL, as a running shop does
                async with engine.connect() as conn:
                    await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            fake = InMemoryTelegram()
            application = (
                ApplicationBuilder()
                .token(TOKEN)
                .request(fake)
                .get_updates_request(InMemoryTelegram())
                .updater(None)
                .defaults(Defaults(tzinfo=SHOP_TZ))
                .build()
            )
            svc = BotServices(sessions=sessions, serialize_writes=url.startswith("sqlite"))
            install(application, svc)
            register(application)
            users = [10_000 + i for i in range(len(agent_ids))]
            load_before = os.getloadavg()
            async with application:
                await drive(application, fake, users[:2], 2)  # warm-up: caches, config, pools
                before = (
                    (svc.committer.batches, svc.committer.committed) if svc.committer else (0, 0)
                )
                began = time.perf_counter()
                working = await drive(application, fake, users, taps, think=THINK)
                wall = time.perf_counter() - began
                after = (
                    (svc.committer.batches, svc.committer.committed) if svc.committer else (0, 0)
                )
                batches, written = after[0] - before[0], after[1] - before[1]
                cpu = time.process_time()
                alone = await drive(application, fake, users[:1], taps * 3)
                cpu_each = (time.process_time() - cpu) / sum(len(v) for v in alone.values())
                burst = await drive(application, fake, users, 1)
            load_after = os.getloadavg()
        finally:
            await engine.dispose()
    grouped = f" · {written:,} outcomes in {batches:,} commits" if batches else ""
    return [
        f"machine: {os.cpu_count()} CPUs · load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (1 min)",
        f"database: {url.split('///')[0]} · {customers:,} customers, {tasks:,} open tasks, "
        f"{agents} agents · seeded in {seeded:.0f} s",
        f"{agents} agents working at once ({THINK[0]:g}–{THINK[1]:g} s between taps, "
        f"{wall:.0f} s{grouped}):",
        *(_line(kind, values) for kind, values in working.items()),
        f"one agent alone (no queueing: the cost of one update, {cpu_each * 1000:.1f} ms CPU):",
        *(_line(kind, values) for kind, values in alone.items()),
        f"burst: all {agents} agents send /today and tap in the same instant:",
        *(_line(kind, values) for kind, values in burst.items()),
    ]


if __name__ == "__main__":
    import sys

    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for line in asyncio.run(bench_telegram(BenchOptions(lines=lines))):
        print(line)
