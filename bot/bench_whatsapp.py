"""`trustcart bench whatsapp`: the dispatcher and the inbound webhook against the fake Twilio.

Dispatcher: N queued messages, the fake Twilio in its own process answering each create after
100 ms; reports messages/s, that the fake created each exactly once, and the process's resident
memory along the way (it must stay flat). Inbound: signed webhook POSTs to our aiohttp app on
SQLite from 16 concurrent clients; reports requests/s and latency percentiles.
Usage: python -m bot.bench_whatsapp [--messages 100000] [--inbound 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, insert, select

from bot.migrate import upgrade
from core.clock import SHOP_TZ
from core.db import SessionFactory, make_engine, make_session_factory, unit_of_work
from core.models import Customer, Engagement, Message
from core.shopconfig import load_config_dir
from core.shopconfig.loader import store_applied_config
from handlers.whatsapp import setup_twilio_webhooks
from messaging.dispatcher import Dispatcher
from messaging.templates import Senders
from messaging.twilio_transport import TwilioTransport

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the fake lives with the tests
    sys.path.insert(0, str(ROOT))

from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, run_in_process, sign  # noqa: E402


def rss_mb() -> float:
    """Current resident memory of this process, in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def daytime_clock() -> Any:
    """Real time shifted to 12:00 in the shop (quiet hours never interfere)."""
    now = datetime.now(SHOP_TZ)
    offset = now.replace(hour=12, minute=0, second=0, microsecond=0) - now
    return lambda: datetime.now(UTC) + offset


async def _prepare(
    sessions: SessionFactory, n: int, clock: Any, rate: float, concurrency: int
) -> None:
    cfg = load_config_dir(ROOT / "config")
    cfg = cfg.model_copy(
        update={
            "messaging": cfg.messaging.model_copy(
                update={"rate_per_second": rate, "concurrency": concurrency}
            )
        }
    )
    today = clock().astimezone(SHOP_TZ).date()
    opened = clock() - timedelta(hours=1)  # inside the window: free text
    async with unit_of_work(sessions) as session:
        await store_applied_config(session, cfg)
        for start in range(0, n, 5000):
            rows = [
                {"phone": f"+8801{7 + i % 3}{i:08d}", "name": f"C{i}", "last_inbound_at": opened}
                for i in range(start, min(n, start + 5000))
            ]
            await session.execute(insert(Customer), rows)
        ids = (await session.scalars(select(Customer.id).order_by(Customer.id))).all()
        for start in range(0, n, 5000):
            await session.execute(
                insert(Message),
                [
                    {
                        "dedupe_key": f"bench:{cid}",
                        "customer_id": cid,
                        "channel": "whatsapp",
                        "purpose": "marketing",
                        "template_key": "reminder",
                        "variables": {"product": "চাল", "quantity": f"{cid % 9 + 1} কেজি"},
                        "status": "queued",
                        "send_on": today,
                        "queued_on": today,
                    }
                    for cid in ids[start : start + 5000]
                ],
            )


async def bench_dispatcher(n: int, workdir: Path, latency: float = 0.1) -> list[str]:
    """Send n messages through the fake Twilio (in another process) and measure."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    proc = ctx.Process(target=run_in_process, args=(0, latency, ready), daemon=True)
    proc.start()
    base_url = ready.get(timeout=30)
    engine = make_engine(f"sqlite+aiosqlite:///{workdir / 'dispatch.db'}")
    out: list[str] = []
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        clock = daytime_clock()
        await _prepare(sessions, n, clock, rate=1000, concurrency=128)
        transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_base_url=base_url)
        dispatcher = Dispatcher(
            sessions,
            transport,
            Senders("whatsapp:+14155238886", "+15005550006", "https://shop.example.com"),
            clock=clock,
            batch_size=256,
        )
        samples: list[tuple[int, float, int]] = []
        started = time.perf_counter()
        await dispatcher.start()
        sent = 0
        while sent < n:
            await asyncio.sleep(1.0)
            async with sessions() as session:
                sent = int(
                    await session.scalar(select(func.count()).where(Message.status == "sent")) or 0
                )
            samples.append((sent, rss_mb(), sys.getallocatedblocks()))
            if time.perf_counter() - started > 3600:
                break
        elapsed = time.perf_counter() - started
        await dispatcher.stop()
        async with aiohttp.ClientSession() as http, http.get(f"{base_url}/_fake/stats") as r:
            stats = await r.json()
    finally:
        await engine.dispose()
        proc.terminate()
    steady = [mb for done, mb, _ in samples if done >= n * 0.1]
    out.append(
        f"dispatcher: {sent:,} messages in {elapsed:.1f} s = {sent / elapsed:,.0f} messages/s "
        f"(fake Twilio latency {latency * 1000:.0f} ms, rate limit 1000/s, concurrency 128)"
    )
    out.append(
        f"fake Twilio created {stats['created']:,} messages, {stats['distinct']:,} distinct, "
        f"{stats['duplicates']} duplicates, violations {stats['violations']}"
    )
    if steady:
        marks, heap = [], []
        for share in (0.1, 0.25, 0.5, 0.75, 1.0):
            _, mb, blocks = next((s for s in samples if s[0] >= n * share), samples[-1])
            marks.append(f"{share:.0%} {mb:.0f} MB")
            heap.append(f"{blocks / 1000:,.0f}k")
        out.append(f"RSS when sent: {', '.join(marks)}; max {max(steady):.0f} MB")
        out.append(f"Python heap (allocated blocks) at the same points: {', '.join(heap)}")
    return out


async def bench_inbound(n: int, workdir: Path, clients: int = 16) -> list[str]:
    """n signed inbound webhooks from `clients` concurrent senders, on SQLite."""
    engine = make_engine(f"sqlite+aiosqlite:///{workdir / 'inbound.db'}")
    await upgrade(engine)
    sessions = make_session_factory(engine)
    clock = daytime_clock()
    await _prepare(sessions, 0, clock, rate=80, concurrency=20)
    app = web.Application()
    hooks = setup_twilio_webhooks(
        app,
        sessions,
        auth_token=AUTH_TOKEN,
        public_base_url="https://shop.example.com",
        clock=clock,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    bodies = ["হ্যাঁ ৫ কেজি", "কবে ডেলিভারি হবে?", "না", "help", "ok", "দুই প্যাকেট"]
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def client(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            params = {
                "From": f"whatsapp:+88017{i % 2000:08d}",
                "To": "whatsapp:+14155238886",
                "Body": bodies[i % len(bodies)],
                "MessageSid": f"SM{i:032x}",
                "NumMedia": "0",
            }
            headers = {
                "X-Twilio-Signature": sign(
                    AUTH_TOKEN, "https://shop.example.com/twilio/inbound", params
                )
            }
            began = time.perf_counter()
            async with http.post(
                f"http://{host}:{port}/twilio/inbound", data=params, headers=headers
            ) as r:
                await r.read()
                assert r.status == 200, r.status
            latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    backlog = n - hooks.inbox.processed
    await hooks.inbox.process_pending()  # the worker goes on; wait for it to finish
    processed_in = time.perf_counter() - started
    batches = hooks.inbox.writer.batches
    async with sessions() as session:
        engagements = int(await session.scalar(select(func.count()).select_from(Engagement)) or 0)
    await runner.cleanup()
    await engine.dispose()
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    return [
        f"inbound webhook: {n:,} requests in {elapsed:.1f} s = {n / elapsed:,.0f} requests/s, "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms "
        f"({clients} concurrent clients, SQLite, {batches:,} group commits)",
        f"inbox worker: {engagements:,} processed in {processed_in:.1f} s = "
        f"{engagements / processed_in:,.0f} messages/s ({backlog:,} still queued when the last "
        "request was answered)",
    ]


async def bench_whatsapp(options: Any) -> list[str]:
    """Entry for `trustcart bench` (BENCHES["whatsapp"])."""
    n = min(int(getattr(options, "lines", 100_000)), 100_000)
    with tempfile.TemporaryDirectory(
        prefix="trustcart-wa-", dir=getattr(options, "workdir", None)
    ) as tmp:
        return await bench_dispatcher(n, Path(tmp)) + await bench_inbound(3000, Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--inbound", type=int, default=3000)
    args = parser.parse_args()

    async def both() -> list[str]:
        with tempfile.TemporaryDirectory(prefix="trustcart-wa-") as tmp:
            lines = await bench_dispatcher(args.messages, Path(tmp)) if args.messages else []
            return lines + (await bench_inbound(args.inbound, Path(tmp)) if args.inbound else [])

    for line in asyncio.run(both()):
        print(line)


if __name__ == "__main__":
    main()
