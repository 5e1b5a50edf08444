"""`trustcart customer PHONE`: the Customer 360 card."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import typer

from bot.runtime import open_database, run
from bot.settings import get_settings
from core.customers.card import render_360
from core.customers.view import Customer360, customer_360
from core.errors import NotFound


def customer(
    phone: str = typer.Argument(
        ..., help="Phone in any local form: 01…, 8801…, +880…, Bangla digits."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
    lang: str = typer.Option("", "--lang", help="bn or en (default: the customer's language)."),
) -> None:
    """Show one customer's 360 view: profile, segments, value, predictions, orders, history."""
    settings = get_settings()

    async def go() -> Customer360:
        async with open_database(settings) as db, db.sessions() as session:
            return await customer_360(session, phone=phone, as_of=datetime.now(settings.tz).date())

    try:
        view = run(go())
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(view.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_360(view, lang or view.language))
