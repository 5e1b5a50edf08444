"""`trustcart agents invite|list`: make single-use invite codes and see the team."""

from __future__ import annotations

import typer

from bot.runtime import open_database, run
from bot.settings import get_settings
from core.clock import system_clock
from core.db import unit_of_work
from core.errors import InvalidInput
from core.shopconfig.schema import TeamConfig
from core.team import create_invite, list_agents

app = typer.Typer(help="Team members and their invite codes.", no_args_is_help=True)


async def _bot_username() -> str | None:
    """The bot's @username via getMe, when a token is configured and the API answers."""
    settings = get_settings()
    if settings.telegram_bot_token is None:
        return None
    from telegram import Bot
    from telegram.error import TelegramError

    from bot.app import api_base

    token = settings.require("TELEGRAM_BOT_TOKEN")
    base = api_base(settings)
    if base:
        bot = Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
    else:
        bot = Bot(token)
    try:
        async with bot:
            return bot.username
    except (TelegramError, OSError):
        return None


@app.command("invite")
def invite(
    name: str = typer.Option(..., "--name", help="The person's name."),
    role: str = typer.Option("agent", "--role", help="admin, manager, agent, support, delivery."),
    district: list[str] = typer.Option([], "--district", help="A district they cover (repeat)."),
    senior: bool = typer.Option(False, "--senior", help="Gets HOT/VIP customers first."),
    capacity: int | None = typer.Option(None, "--capacity", help="Tasks per day."),
) -> None:
    """Create the team member and print their single-use code (and t.me link)."""

    async def go() -> tuple[str, str]:
        from core.errors import ConfigError
        from core.shopconfig import load_applied_config

        async with open_database() as db, unit_of_work(db.sessions) as session:
            try:
                team = (await load_applied_config(session)).team
            except ConfigError:
                team = TeamConfig()
            made = await create_invite(
                session,
                name,
                role,
                district,
                senior,
                capacity if capacity is not None else team.default_daily_capacity,
                None,
                system_clock(),
                team.invite_valid_hours,
            )
        return made.code, made.expires_at.isoformat(timespec="minutes")

    try:
        code, expires = run(go())
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"invite code for {name} ({role}): {code}  (valid until {expires} UTC, single use)")
    username = run(_bot_username())
    if username:
        typer.echo(f"join link: https://t.me/{username}?start={code}")
    else:
        typer.echo(f"they join by sending the bot: /start {code}")


@app.command("list")
def list_command() -> None:
    """Every team member: role, districts, capacity, joined, open tasks."""

    async def go() -> list:
        async with open_database() as db, unit_of_work(db.sessions) as session:
            return await list_agents(session)

    rows = run(go())
    if not rows:
        typer.echo("no agents yet: trustcart agents invite --name NAME --role agent")
        return
    typer.echo(
        f"{'id':>4}  {'name':<24} {'role':<9} {'state':<8} {'cap':>4} {'open':>6}  districts"
    )
    for a in rows:
        state = "active" if a.active else ("invited" if not a.joined else "inactive")
        typer.echo(
            f"{a.id:>4}  {a.name[:24]:<24} {a.role:<9} {state:<8} {a.daily_capacity:>4} "
            f"{a.open_tasks:>6}  {', '.join(a.districts) or '—'}{'  (senior)' if a.senior else ''}"
        )
