"""The `trustcart` command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

from bot.cli import config as config_commands
from bot.cli import customer as customer_command
from bot.cli import db as db_commands

app = typer.Typer(
    name="trustcart",
    help="TrustCart CRM: reminders, offers and membership for an organic grocery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(config_commands.app, name="config")
app.command("customer")(customer_command.customer)


def main() -> None:
    """Entry point of the `trustcart` script."""
    app()
