"""`trustcart db …`: schema migrations."""

from __future__ import annotations

import typer

from bot import migrate
from bot.runtime import open_database, run
from bot.settings import get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database (DATABASE_URL) to the latest schema."""

    async def go() -> str | None:
        async with open_database() as db:
            await migrate.upgrade(db.engine, revision)
            return await migrate.current(db.engine)

    rev = run(go())
    typer.echo(f"database {get_settings().database_url} at revision {rev}")
