"""Charts render to PNG bytes with data, without data, and with names the font cannot draw."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.kpis import AgentDay, AgentPerformance, DailySummary, Influence, MessageFunnel
from handlers import charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DAY = date(2026, 3, 10)


def summary(agents: list[AgentDay], funnel: MessageFunnel | None = None) -> DailySummary:
    nothing = Influence(0, Decimal("0.00"))
    return DailySummary(
        day=DAY,
        attribution_days=7,
        agents=agents,
        tasks_generated=sum(a.generated for a in agents),
        tasks_completed=sum(a.completed for a in agents),
        messages=funnel or MessageFunnel(0, 0, 0, 0, 0, 0),
        orders=0,
        revenue=Decimal("0.00"),
        influenced_by_tasks=nothing,
        influenced_by_messages=nothing,
        influenced=nothing,
        priority_split={"hot": 0, "warm": 0, "cold": 0},
        lifecycle_split={"prospect": 0, "new": 0, "active": 0, "at_risk": 0, "churned": 0},
    )


def performance(agent_id: int, name: str, calls: int, ordered: int) -> AgentPerformance:
    return AgentPerformance(
        agent_id=agent_id,
        agent_name=name,
        start=date(2026, 3, 4),
        end=DAY,
        days=7,
        calls=calls,
        calls_per_day=calls / 7,
        ordered=ordered,
        conversion_rate=ordered / calls if calls else 0.0,
        tasks_due=5,
        tasks_done=4,
        followup_completion_rate=0.8,
        orders_influenced=ordered,
        revenue_influenced=Decimal("3200.50"),
    )


def assert_png(data: bytes) -> None:
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000  # a drawn 1200×800 chart, not an empty canvas


def test_daily_chart_with_data() -> None:
    agents = [
        AgentDay(1, "Rahim", generated=12, completed=9),
        AgentDay(2, "রহিমা খাতুন", generated=8, completed=8),
        AgentDay(None, "unassigned", generated=3, completed=0),
    ]
    data = charts.daily_chart(summary(agents, MessageFunnel(40, 35, 30, 20, 3, 5)))
    assert_png(data)
    assert data != charts.daily_chart(summary(agents))  # the funnel is drawn from the data


def test_daily_chart_with_no_data() -> None:
    assert_png(charts.daily_chart(summary([])))


def test_team_chart() -> None:
    assert_png(charts.team_chart([performance(1, "Rahim", 30, 6), performance(2, "Karim", 0, 0)]))
    assert_png(charts.team_chart([]))


def test_bangla_names_fall_back_without_a_bangla_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "bangla_font", lambda: None)
    assert charts.display_name("রহিমা খাতুন", 7) == "Agent 7"
    assert charts.display_name("Rahim", 1) == "Rahim"
    assert_png(charts.daily_chart(summary([AgentDay(7, "রহিমা", 2, 1)])))


def test_bangla_names_kept_with_a_bangla_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "bangla_font", lambda: "Some Bangla Font")  # not installed
    assert charts.display_name("রহিমা খাতুন", 7) == "রহিমা খাতুন"
    assert_png(charts.daily_chart(summary([AgentDay(7, "রহিমা", 2, 1)])))
