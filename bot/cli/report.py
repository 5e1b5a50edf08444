"""`trustcart report`: customer, daily, team and campaign KPIs as tables, JSON and a chart."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from bot.runtime import open_database, run
from bot.settings import get_settings
from core.errors import ConfigError
from core.kpis import (
    AgentPerformance,
    CampaignPerformance,
    CustomerKpis,
    DailySummary,
    campaign_report,
    customer_kpis,
    daily_summary,
    team_report,
)
from core.shopconfig import load_applied_config
from core.shopconfig.schema import TeamConfig
from handlers.charts import daily_chart, team_chart


@dataclass(frozen=True)
class Report:
    day: date
    team_start: date
    customers: CustomerKpis
    daily: DailySummary
    team: list[AgentPerformance]
    campaigns: list[CampaignPerformance]

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data."""
        return {
            "date": self.day.isoformat(),
            "team_period": {"start": self.team_start.isoformat(), "end": self.day.isoformat()},
            "customers": self.customers.to_dict(),
            "daily": self.daily.to_dict(),
            "team": [a.to_dict() for a in self.team],
            "campaigns": [c.to_dict() for c in self.campaigns],
        }


async def build_report(day: date, week: bool) -> Report:
    """Every KPI for a day (team over the day, or the 7 days ending on it), in one read."""
    team_start = day - timedelta(days=6) if week else day
    async with open_database() as db, db.sessions() as session:
        try:
            attribution_days = (await load_applied_config(session)).team.attribution_days
        except ConfigError:  # config never applied: the documented default
            attribution_days = TeamConfig().attribution_days
        return Report(
            day=day,
            team_start=team_start,
            customers=await customer_kpis(session, day),
            daily=await daily_summary(session, day, attribution_days),
            team=await team_report(session, team_start, day, attribution_days),
            campaigns=await campaign_report(session, day),
        )


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _tk(amount: Decimal) -> str:
    return f"৳{amount:,.2f}"


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table


def _print(console: Console, r: Report) -> None:
    k, s = r.customers, r.daily
    console.print(
        _table(
            f"Customers as of {k.as_of}",
            ["KPI", "value"],
            [
                ["customers / buyers / repeat buyers", f"{k.customers} / {k.buyers} / {k.repeat_buyers}"],
                ["repeat purchase rate", _pct(k.repeat_purchase_rate)],
                ["average days between orders", f"{k.avg_days_between_orders:.1f}"],
                ["at risk", f"{k.at_risk} ({_pct(k.at_risk_rate)})"],
                ["churned", f"{k.churned} ({_pct(k.churn_rate)})"],
                ["LTV mean / median", f"{_tk(k.ltv_mean)} / {_tk(k.ltv_median)}"],
                ["segments as of", k.segments_as_of or "-"],
            ],
        )
    )  # fmt: skip
    console.print(
        _table(
            f"Tasks on {s.day}",
            ["agent", "generated", "completed"],
            [[a.agent_name, a.generated, a.completed] for a in s.agents]
            + [["total", s.tasks_generated, s.tasks_completed]],
        )
    )
    m = s.messages
    console.print(
        _table(
            f"Messages and orders on {s.day}",
            ["measure", "value"],
            [
                ["queued / sent / delivered", f"{m.queued} / {m.sent} / {m.delivered}"],
                ["read / failed / replied", f"{m.read} / {m.failed} / {m.replied}"],
                ["orders", f"{s.orders} ({_tk(s.revenue)})"],
                [f"influenced by tasks ({s.attribution_days} d)",
                 f"{s.influenced_by_tasks.orders} ({_tk(s.influenced_by_tasks.revenue)})"],
                [f"influenced by messages ({s.attribution_days} d)",
                 f"{s.influenced_by_messages.orders} ({_tk(s.influenced_by_messages.revenue)})"],
                ["influenced (either)", f"{s.influenced.orders} ({_tk(s.influenced.revenue)})"],
                ["priority", ", ".join(f"{k} {v}" for k, v in s.priority_split.items())],
                ["lifecycle", ", ".join(f"{k} {v}" for k, v in s.lifecycle_split.items())],
            ],
        )
    )  # fmt: skip
    console.print(
        _table(
            f"Team {r.team_start} to {r.day}",
            ["agent", "calls", "calls/day", "conversion", "follow-up", "orders", "revenue"],
            [
                [a.agent_name, a.calls, f"{a.calls_per_day:.1f}", _pct(a.conversion_rate),
                 f"{a.tasks_done}/{a.tasks_due} ({_pct(a.followup_completion_rate)})",
                 a.orders_influenced, _tk(a.revenue_influenced)]
                for a in r.team
            ],
        )
    )  # fmt: skip
    console.print(
        _table(
            f"Campaigns as of {r.day}",
            ["campaign", "members", "delivery", "response", "conversion", "uplift", "redemption"],
            [
                [c.name, f"{c.targeted} + {c.holdout} held", _pct(c.delivery_rate),
                 _pct(c.response_rate),
                 f"{_pct(c.conversion_rate)} vs {_pct(c.holdout_conversion_rate)}",
                 "-" if c.uplift is None else f"{c.uplift * 100:+.1f} pp",
                 f"{c.coupons_redeemed}/{c.coupons_issued} ({_pct(c.redemption_rate)})"]
                for c in r.campaigns
            ],
        )
    )  # fmt: skip
    errors = [[c.name, code, n] for c in r.campaigns for code, n in c.errors.items()]
    if errors:
        console.print(
            _table("Delivery errors by Twilio code", ["campaign", "code", "messages"], errors)
        )


def report(
    on: str = typer.Option("", "--date", help="Shop-local date YYYY-MM-DD (default: today)."),
    chart: Path | None = typer.Option(None, "--chart", help="Write the chart PNG to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
    week: bool = typer.Option(False, "--week", help="Team over the 7 days ending on the date."),
) -> None:
    """Print the KPIs: customers, the day's summary, the team and the campaigns."""
    try:
        day = date.fromisoformat(on) if on else datetime.now(get_settings().tz).date()
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {on!r}", param_hint="--date") from None
    result = run(build_report(day, week))
    if chart is not None:
        chart.write_bytes(team_chart(result.team) if week else daily_chart(result.daily))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    console = Console()
    _print(console, result)
    if chart is not None:
        console.print(f"chart written to {chart}")
