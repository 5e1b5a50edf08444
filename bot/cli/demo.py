"""`trustcart demo`: fill an empty shop with the deterministic demo, segment it, summarise it."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from datetime import date, datetime

import typer
from rich.console import Console
from rich.table import Table

from bot import migrate
from bot.runtime import Database, open_database, run
from bot.settings import get_settings
from core.demo import DemoSummary, generate_demo, shop_is_empty, shop_summary
from core.errors import ConfigError, Conflict, InvalidInput
from core.shopconfig import load_applied_config
from core.texts import money


@dataclass
class DemoOutcome:
    generated: bool  # False: the shop was not empty and --if-empty left it alone
    segmented: bool  # the lead's segmentation ran on the new shop
    summary: DemoSummary


async def make_demo(
    db: Database, *, customers: int, seed: int, as_of: date, if_empty: bool
) -> DemoOutcome:
    """Generate the demo (one transaction), then segment it (another), then read the summary."""
    async with db.sessions() as session, session.begin():
        cfg = await load_applied_config(session)
        if if_empty and not await shop_is_empty(session):
            return DemoOutcome(False, False, await shop_summary(session))
        generated = await generate_demo(session, customers=customers, seed=seed, as_of=as_of)
    segmented = False
    try:
        segments = importlib.import_module("core.customers.segments")
    except ImportError:
        segments = None
    if segments is not None:
        async with db.sessions() as session, session.begin():
            await segments.refresh_segments(session, as_of, cfg)
            segmented = True
    async with db.sessions() as session:
        summary = await shop_summary(session)
    summary.samples = generated.samples
    return DemoOutcome(True, segmented, summary)


def demo(
    customers: int = typer.Option(2000, "--customers", help="How many customers to generate."),
    seed: int = typer.Option(
        7, "--seed", help="Random seed: the same seed and date, the same shop."
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Only when the shop has no customers and no orders; else say so."
    ),
    day: str = typer.Option(
        "", "--date", help="The shop's today, YYYY-MM-DD (default: today in Asia/Dhaka)."
    ),
) -> None:
    """Generate a demo shop: products, customers with household rhythms, a year of orders, a team."""
    settings = get_settings()
    try:
        as_of = date.fromisoformat(day) if day else datetime.now(settings.tz).date()
    except ValueError:
        raise typer.BadParameter(
            f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--date"
        ) from None

    async def go() -> DemoOutcome | None:
        async with open_database(settings) as db:
            if await migrate.current(db.engine) is None:
                return None
            return await make_demo(
                db, customers=customers, seed=seed, as_of=as_of, if_empty=if_empty
            )

    try:
        outcome = run(go())
    except (ConfigError, InvalidInput) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    except Conflict as exc:
        print(f"error: {exc} (use --if-empty to skip quietly)", file=sys.stderr)
        raise typer.Exit(1) from None
    if outcome is None:
        print("error: the database has no tables yet: run `trustcart db upgrade`", file=sys.stderr)
        raise typer.Exit(2)
    console = Console()
    s = outcome.summary
    if outcome.generated:
        console.print(f"Demo shop generated for {as_of.isoformat()} (seed {seed}).")
        if not outcome.segmented:
            console.print("Segments not computed yet: the daily run will do it.")
    else:
        console.print(
            f"The shop already has {s.customers:,} customers and {s.orders:,} orders: "
            "no demo generated."
        )
    print_summary(console, s)


def print_summary(console: Console, s: DemoSummary) -> None:
    """The shop in three small tables and a few phones to look up."""
    shop = Table(title="Shop", show_header=False)
    shop.add_column(style="bold")
    shop.add_column(justify="right")
    shop.add_row("Customers", f"{s.customers:,}")
    shop.add_row("Orders (counted / all)", f"{s.counted_orders:,} / {s.orders:,}")
    shop.add_row("Order lines", f"{s.order_lines:,}")
    shop.add_row("Revenue (counted orders)", money(s.revenue, "en"))
    shop.add_row("Products", f"{s.products:,}")
    shop.add_row("Team members", f"{s.agents:,}")
    if s.first_order_date and s.last_order_date:
        shop.add_row("Orders from … to", f"{s.first_order_date} … {s.last_order_date}")
    console.print(shop)

    split = Table(title="Segments and tiers")
    split.add_column("field")
    split.add_column("value")
    split.add_column("customers", justify="right")
    split.add_column("share", justify="right")
    for name, counts in [*s.segments.items(), ("tier", s.tiers)]:
        for n, (value, count) in enumerate(counts.items()):
            share = f"{100 * count / s.customers:.0f}%" if s.customers else ""
            split.add_row(name.replace("_", " ") if n == 0 else "", value, f"{count:,}", share)
        split.add_section()
    console.print(split)

    if s.samples:
        console.print("Try a Customer 360 card:")
        for why, phone in s.samples:
            console.print(f"  trustcart customer {phone}   [dim]# {why}[/dim]")
