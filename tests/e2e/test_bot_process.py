"""`trustcart run` as a process: start-up errors, the scheduler's jobs, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram.error import InvalidToken

from bot.app import build_application, build_runtime, serve
from bot.scheduler import ptb_weekday, schedule_jobs
from bot.settings import Settings
from core.db import make_session_factory
from core.shopconfig.schema import TeamConfig
from tests.e2e.telegram_harness import free_port
from tests.fakes.telegram_api import FakeTelegram

TRUSTCART = str(Path(sys.executable).with_name("trustcart"))
DHAKA = ZoneInfo("Asia/Dhaka")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(extra)
    return env


def test_missing_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [TRUSTCART, "run"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: TELEGRAM_BOT_TOKEN is not set: set it in the environment or in .env (see .env.example)"
    ]


def test_unreachable_api_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = _env(
        TELEGRAM_BOT_TOKEN="123456:abcdefghijklmnopqrstuvwxyz",
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{free_port()}",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
    )
    proc = subprocess.run(
        [TRUSTCART, "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot reach the Telegram Bot API at http://127.0.0.1" in errors[0]
    assert "Traceback" not in proc.stderr


def test_sigterm_stops_gracefully(tmp_path: Path) -> None:
    """A real process against a fake Bot API served by a child process of its own."""
    fake_port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.serve_telegram", str(fake_port)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().startswith("ready")
        db = tmp_path / "run.db"
        subprocess.run(
            [TRUSTCART, "db", "upgrade"],
            cwd=Path(__file__).resolve().parents[2],
            env=_env(DATABASE_URL=f"sqlite+aiosqlite:///{db}"),
            check=True,
            capture_output=True,
            timeout=120,
        )
        env = _env(
            TELEGRAM_BOT_TOKEN="123456789:AAFakeTokenForTestsOnly_abcdefghijkl",
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{fake_port}",
            DATABASE_URL=f"sqlite+aiosqlite:///{db}",
            WEB_PORT=str(free_port()),
        )
        proc = subprocess.Popen(
            [TRUSTCART, "run"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        assert proc.stderr is not None
        for line in proc.stderr:
            if "TrustCart is running" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        server.terminate()
        server.wait(timeout=10)


async def test_invalid_token_surfaces(tmp_path: Path, engine) -> None:  # noqa: ANN001
    fake = FakeTelegram()
    await fake.start()
    try:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_bot_token="999:not-the-right-token",
            telegram_api_base_url=fake.url,
            web_port=free_port(),
        )
        application, _ = build_runtime(settings, make_session_factory(engine), schedule=False)
        import asyncio

        with pytest.raises(InvalidToken):
            await serve(application, asyncio.Event())
    finally:
        await fake.stop()


def test_jobs_are_scheduled_in_dhaka_with_grace() -> None:
    settings = Settings(_env_file=None, telegram_bot_token="1:x")  # type: ignore[call-arg]
    application = build_application(settings, sessions=None)  # type: ignore[arg-type]
    team = TeamConfig(daily_run_at=dtime(8, 0), weekly_review_weekday=6)
    schedule_jobs(application, team, DHAKA)
    jobs = {j.name: j.job for j in application.job_queue.jobs()}
    assert set(jobs) == {"daily-cadence", "end-of-day-summary", "weekly-review", "catch-up"}
    for name in ("daily-cadence", "end-of-day-summary", "weekly-review"):
        job = jobs[name]
        assert (job.id, job.misfire_grace_time, job.coalesce) == (name, 3600, True)
        assert str(job.trigger.timezone) == "Asia/Dhaka"
    fields = {f.name: str(f) for f in jobs["daily-cadence"].trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("8", "0")
    assert ptb_weekday(6) == 0 and ptb_weekday(0) == 1  # Sunday, Monday in PTB's numbering
