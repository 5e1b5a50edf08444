"""`trustcart backtest`: how well the predictions and the reminder policies did on past data."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer

from bot.runtime import open_database, run
from bot.settings import get_settings
from core.errors import InvalidInput
from core.predictions.backtest import BacktestResult, render, run_backtest, write_chart


def backtest(
    calibration_end: str = typer.Option(
        ..., "--calibration-end", help="Last day (YYYY-MM-DD) of the period the model learns from."
    ),
    holdout_days: int = typer.Option(90, "--holdout-days", min=1, help="Days compared after it."),
    window_days: int = typer.Option(
        7,
        "--window-days",
        min=0,
        help="A reminder counts as a hit this many days before a purchase.",
    ),
    chart: Path | None = typer.Option(
        None, "--chart", help="Write the comparison chart (PNG) here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Fit on orders up to --calibration-end and compare predictions with what happened next."""
    try:
        end = date.fromisoformat(calibration_end)
    except ValueError:
        print(
            f"error: --calibration-end {calibration_end!r} is not a date (YYYY-MM-DD)",
            file=sys.stderr,
        )
        raise typer.Exit(2) from None

    async def go() -> BacktestResult:
        async with open_database(get_settings()) as db, db.sessions() as session:
            return await run_backtest(session, end, holdout_days, window_days=window_days)

    try:
        result = run(go())
    except InvalidInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if chart is not None:
        write_chart(result, chart)
    if as_json:
        data = result.as_json()
        if chart is not None:
            data["chart"] = str(chart)
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for line in render(result):
        typer.echo(line)
    if chart is not None:
        typer.echo(f"chart written to {chart}")
