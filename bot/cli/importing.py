"""`trustcart import products|customers|orders FILE`: load the ERP's CSV exports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from bot.runtime import open_database, run
from core.ingest import ImportReport, ProgressCallback, load_csv

app = typer.Typer(
    help="Import the ERP's CSV files (see README: Import formats).", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True)
LARGE_FILE = 2 * 1024 * 1024  # bytes from which a progress bar is shown
SHOWN_REJECTIONS = 50
FileArgument = typer.Argument(
    ..., exists=True, dir_okay=False, readable=True, help="CSV file (UTF-8)."
)


@contextmanager
def progress_bar(path: Path) -> Iterator[ProgressCallback | None]:
    """A rich progress bar fed by the importer's callback, for large files only."""
    size = path.stat().st_size
    if size < LARGE_FILE:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(path.name, total=size)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or size)

        yield on_progress


def import_file(kind: str, path: Path) -> ImportReport:
    """Import one file of `kind` in one transaction, with a progress bar when it is large."""

    async def go() -> ImportReport:
        async with open_database() as db:
            stream: IO[Any]
            with path.open("rb") as stream, progress_bar(path) as on_progress:
                return await load_csv(db.sessions, kind, stream, path.name, on_progress=on_progress)

    return run(go())


def print_report(report: ImportReport) -> None:
    """The summary, the warnings and the first rejected rows with their line numbers."""
    out = Console(soft_wrap=True)
    if report.refused:
        console.print(f"[red]refused[/red] {report.source}: {report.refused}")
        return
    out.print(report.summary())
    for warning in report.warnings[:SHOWN_REJECTIONS]:
        out.print(f"[yellow]warning[/yellow] {warning}")
    for rejection in report.rejected[:SHOWN_REJECTIONS]:
        out.print(f"[red]line {rejection.line}[/red]: {rejection.reason}", highlight=False)
    hidden = len(report.rejected) - SHOWN_REJECTIONS
    if hidden > 0:
        out.print(f"… and {hidden} more rejected rows")


def _import(kind: str, path: Path) -> None:
    report = import_file(kind, path)
    print_report(report)
    if report.refused:
        raise typer.Exit(1)


@app.command("products")
def products(file: Path = FileArgument) -> None:
    """products.csv: sku, name, category, pack_size, unit, price [, name_bn, launch_date, active]."""
    _import("products", file)


@app.command("customers")
def customers(file: Path = FileArgument) -> None:
    """customers.csv: phone, name [, customer_ref, district, city, birthday, language, …]."""
    _import("customers", file)


@app.command("orders")
def orders(file: Path = FileArgument) -> None:
    """orders.csv, one row per line: order_id, phone or customer_ref, ordered_at, sku, quantity, unit_price [, unit, coupon_code, status]."""
    _import("orders", file)
