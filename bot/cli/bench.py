"""`trustcart bench`: performance figures (import speed and memory, and sections others add)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from bot.bench import BENCHES, BenchOptions, resolve_bench


def bench(
    lines: int = typer.Option(1_000_000, "--lines", min=1, help="Order lines to generate."),
    customers: int = typer.Option(
        0, "--customers", min=0, help="Customers to generate (default: lines ÷ 10)."
    ),
    database_url: str = typer.Option(
        "", "--database-url", help="Database to import into (default: a fresh temporary SQLite)."
    ),
    only: list[str] = typer.Option(
        [], "--only", help=f"Run only these benchmarks (of: {', '.join(BENCHES)})."
    ),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where temporary files go."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Generate a large shop, import it, and print lines/s and peak memory."""
    unknown = [name for name in only if name not in BENCHES]
    if unknown:
        typer.echo(
            f"error: unknown benchmark {', '.join(unknown)} (of: {', '.join(BENCHES)})", err=True
        )
        raise typer.Exit(2)
    console = Console(stderr=True)
    bars = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=console, transient=True,
    )  # fmt: skip

    def factory(name: str, size: int):  # type: ignore[no-untyped-def]
        task = bars.add_task(name, total=size)
        return lambda done, total: bars.update(task, completed=done, total=total or size)

    options = BenchOptions(
        lines=lines,
        customers=customers or None,
        database_url=database_url or None,
        workdir=workdir,
        progress=factory if progress else None,
    )
    for name in only or list(BENCHES):
        typer.echo(f"== {name}")
        with bars if progress else _Nothing():
            results = asyncio.run(_run(name, options))
        for line in results:
            typer.echo(line)


async def _run(name: str, options: BenchOptions) -> list[str]:
    return await resolve_bench(name)(options)


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
