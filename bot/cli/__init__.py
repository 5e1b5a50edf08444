"""The `trustcart` command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

from bot.cli import agents as agents_commands
from bot.cli import backtest as backtest_command
from bot.cli import bench as bench_command
from bot.cli import config as config_commands
from bot.cli import customer as customer_command
from bot.cli import daily as daily_command
from bot.cli import db as db_commands
from bot.cli import demo as demo_command
from bot.cli import dispatch as dispatch_command
from bot.cli import importing
from bot.cli import report as report_command
from bot.cli import run as run_command

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
app.command("report")(report_command.report)
app.command("demo")(demo_command.demo)
app.command("run")(run_command.run)
app.add_typer(agents_commands.app, name="agents")
app.command("dispatch")(dispatch_command.dispatch)
app.command("backtest")(backtest_command.backtest)
app.add_typer(importing.app, name="import")
app.command("bench")(bench_command.bench)
app.command("daily")(daily_command.daily)


def main() -> None:
    """Entry point of the `trustcart` script."""
    app()
