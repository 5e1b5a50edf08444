"""Who is talking: every command and button finds the agent first and checks the role.

`@guarded(roles)` wraps a handler. Inside, `await identify(session, update, roles)` returns the
agent or raises: `Stranger` (not on the team: one polite refusal per hour, then silence),
PermissionDenied (role), Conflict/NotFound (stale or forged button), InvalidInput (bad command).
The wrapper turns these into a reply or an alert after the transaction has ended.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.models import Agent
from core.team import agent_for_telegram_user, require_role
from handlers.telegram import render
from handlers.telegram.delivery import answer_query, send_text
from handlers.telegram.services import services

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]  # PTB wants coroutine functions


class Stranger(Exception):
    """The Telegram user is not an active member of the team."""


async def identify(session: Any, update: Update, roles: Iterable[str]) -> Agent:
    """The active agent behind this update, with one of the roles."""
    user = update.effective_user
    if user is None:
        raise Stranger()
    agent = await agent_for_telegram_user(session, user.id)
    if agent is None:
        raise Stranger()
    require_role(agent, roles)
    return agent


async def refuse_stranger(update: Update, context: Context) -> None:
    """One polite refusal (Bangla and English), then silence for an hour."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or update.callback_query is not None:
        return
    if services(context).first_refusal(user.id):
        await send_text(context.bot, chat.id, render.t("refusal", "bn"))


async def tell(update: Update, context: Context, text: str) -> None:
    """An alert for a button tap, a message for a command."""
    query = update.callback_query
    if query is not None:
        await answer_query(context.bot, query.id, text[:200], alert=True)
    elif update.effective_chat is not None:
        await send_text(context.bot, update.effective_chat.id, text)


def guarded(handler: Handler) -> Handler:
    """Translate the domain's refusals into polite answers; nothing changes when they happen."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: Context) -> None:
        try:
            await handler(update, context)
        except Stranger:
            await refuse_stranger(update, context)
        except PermissionDenied as exc:
            log.info("refused: %s", exc)
            await tell(update, context, render.t("not_allowed", "bn"))
        except (Conflict, NotFound) as exc:
            log.info("stale: %s", exc)
            await tell(update, context, render.t("stale", "bn"))
        except InvalidInput as exc:
            await tell(update, context, f"⚠️ {exc}")

    return wrapper
