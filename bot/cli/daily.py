"""`trustcart daily [--date D] [--json]`: run the cadence (catching up missed days) and report."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from bot.runtime import open_database, run
from core.clock import local_date, system_clock
from core.daily import CadenceReport, catch_up, run_cadence
from core.daily_report import cadence_report
from core.shopconfig import load_applied_config


async def _daily(day: date | None) -> tuple[list[CadenceReport], dict[str, Any]]:
    async with open_database() as db:
        if day is None:
            async with db.sessions() as session:
                cfg = await load_applied_config(session)
            today = local_date(system_clock())
            runs = await catch_up(db.sessions, today, cfg.team.catch_up_days)
            day = today
        else:
            runs = [await run_cadence(db.sessions, day)]
        async with db.sessions() as session:
            return runs, await cadence_report(session, day)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, justify="right" if col in ("count", "deferred", "s") else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    if not rows:
        table.add_row(*(["—"] + [""] * (len(columns) - 1)))
    return table


def _print(runs: list[CadenceReport], report: dict[str, Any]) -> None:
    console = Console()
    for r in runs:
        console.print(
            _table(
                f"cadence {r.as_of.isoformat()}",
                ["step", "status", "s", "counts"],
                [
                    [
                        s.name,
                        s.status,
                        f"{s.seconds:.2f}",
                        ", ".join(
                            f"{k} {v}" for k, v in s.counts.items() if not isinstance(v, dict)
                        ),
                    ]
                    for s in r.steps
                ],
            )
        )
    console.print(f"[bold]Report for {report['as_of']}[/bold]")
    console.print(
        _table(
            "reminders by product",
            ["sku", "name", "kind", "count"],
            [[x["sku"], x["name"], x["kind"], x["count"]] for x in report["reminders_by_product"]],
        )
    )
    console.print(
        _table(
            "tasks by agent and type",
            ["agent", "type", "count"],
            [[x["agent"], x["type"], x["count"]] for x in report["tasks_by_agent"]],
        )
    )
    console.print(
        _table(
            "messages queued",
            ["channel", "template", "count", "deferred"],
            [[x["channel"], x["template"], x["count"], x["deferred"]] for x in report["messages"]],
        )
    )
    console.print(
        _table("upgrades", ["tier", "count"], [[x["tier"], x["count"]] for x in report["upgrades"]])
    )
    console.print(
        _table(
            "campaign launched",
            ["key", "name", "count", "holdout"],
            [
                [x["key"], x["name"], x["members"], x["holdout"]]
                for x in report["campaigns_launched"]
            ],
        )
    )
    console.print(f"overflow (rolled to a later day): {report['overflow']}")


def daily(
    day: str = typer.Option(
        None, "--date", help="Run this date (YYYY-MM-DD); default today + catch-up."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Run the daily cadence (each step once per date) and print what it produced."""
    target = date.fromisoformat(day) if day else None
    runs, report = run(_daily(target))
    if as_json:
        payload = {"runs": [r.as_dict() for r in runs], "report": report}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return
    _print(runs, report)
