"""Run the fake Bot API on its own (`python -m tests.fakes.serve_telegram PORT`), for process tests."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from tests.fakes.telegram_api import FakeTelegram


async def main(port: int) -> None:
    fake = FakeTelegram()
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", fake._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
