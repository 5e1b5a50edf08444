"""`trustcart report` end to end on the KPI fixture and on an empty database (both engines)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import get_settings
from core.db import make_engine, make_session_factory
from tests.db.test_kpis import build_shop

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def shop_url(database_url: str) -> str:
    engine = make_engine(database_url)
    async with make_session_factory(engine)() as session:
        await build_shop(session)
    await engine.dispose()
    return database_url


@pytest.fixture
def use_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def point_at(url: str) -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()

    yield point_at
    get_settings.cache_clear()


def test_report_json_and_week_chart(
    shop_url: str, use_database: Callable[[str], None], tmp_path: Path
) -> None:
    use_database(shop_url)
    chart = tmp_path / "team.png"
    args = ["report", "--date", "2026-03-10", "--week", "--json", "--chart", str(chart)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["team_period"] == {"start": "2026-03-04", "end": "2026-03-10"}
    assert data["customers"]["repeat_purchase_rate"] == 0.6
    assert data["daily"]["influenced"] == {"orders": 3, "revenue": "3500.00"}
    assert [(a["agent_name"], a["revenue_influenced"]) for a in data["team"]] == [
        ("Rahim", "3200.00"),
        ("Karim", "1200.00"),
    ]
    assert [c["key"] for c in data["campaigns"]] == ["march", "feb"]
    assert chart.read_bytes().startswith(PNG_SIGNATURE)


def test_report_tables(shop_url: str, use_database: Callable[[str], None], tmp_path: Path) -> None:
    use_database(shop_url)
    chart = tmp_path / "day.png"
    result = CliRunner().invoke(app, ["report", "--date", "2026-03-10", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    for text in ("Customers as of 2026-03-10", "60.0%", "Rahim", "unassigned", "63016", "+75.0 pp"):
        assert text in result.stdout
    assert chart.read_bytes().startswith(PNG_SIGNATURE)


def test_report_on_an_empty_database(
    database_url: str, use_database: Callable[[str], None]
) -> None:
    use_database(database_url)
    result = CliRunner().invoke(app, ["report", "--date", "2026-03-10", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["customers"]["buyers"] == 0 and data["team"] == [] and data["campaigns"] == []
    assert CliRunner().invoke(app, ["report", "--date", "2026-03-10"]).exit_code == 0


def test_report_refuses_a_bad_date(use_database: Callable[[str], None]) -> None:
    result = CliRunner().invoke(app, ["report", "--date", "10/03/2026"])
    assert result.exit_code == 2
