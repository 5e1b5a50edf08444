"""`trustcart config …`: validate and apply the shop's rule files."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bot.runtime import open_database, run
from bot.settings import get_settings
from core.errors import ConfigError
from core.shopconfig import ApplyReport, apply_config, load_config_dir

app = typer.Typer(help="Shop configuration (config/*.yaml).", no_args_is_help=True)


def _load_or_exit(directory: Path):  # noqa: ANN202 - ShopConfig
    try:
        return load_config_dir(directory)
    except ConfigError as exc:
        print(f"config is invalid:\n{exc}", file=sys.stderr)
        raise typer.Exit(2) from None


@app.command("check")
def check(
    directory: Path = typer.Argument(None, help="Config folder (default CONFIG_DIR)."),
) -> None:
    """Validate the config files without touching the database."""
    cfg = _load_or_exit(directory or Path(get_settings().config_dir))
    typer.echo(
        f"config OK: {len(cfg.catalog.categories)} categories, "
        f"{len(cfg.consumption.profiles)} consumption profiles, {len(cfg.crosssell.rules)} "
        f"cross-sell rules, {len(cfg.coupons.rules)} coupon rules, "
        f"{len(cfg.campaigns.calendar)} campaigns a year, {len(cfg.templates.templates)} templates"
    )


@app.command("apply")
def apply(
    directory: Path = typer.Argument(None, help="Config folder (default CONFIG_DIR)."),
) -> None:
    """Validate the config files and apply them to the database (idempotent)."""
    cfg = _load_or_exit(directory or Path(get_settings().config_dir))

    async def go() -> ApplyReport:
        async with open_database() as db, db.sessions() as session, session.begin():
            return await apply_config(session, cfg)

    report = run(go())
    if not report.changed:
        typer.echo("config applied: nothing changed")
    else:
        for label, bucket in (
            ("created", report.created),
            ("updated", report.updated),
            ("deactivated", report.deactivated),
        ):
            if bucket:
                typer.echo(f"{label}: " + ", ".join(f"{n} {t}" for t, n in sorted(bucket.items())))
        if report.sections_changed:
            typer.echo("sections stored: " + ", ".join(report.sections_changed))
    for note in report.skipped:
        typer.echo(f"skipped: {note}")
