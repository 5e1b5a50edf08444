"""The last resort: log the failure with its update, tell the user something went wrong (no trace)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from handlers.telegram import render
from handlers.telegram.delivery import answer_query, send_text
from handlers.telegram.guard import Context

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log the exception; apologise to the user in Bangla and English."""
    log.error("error while handling %r", update, exc_info=context.error)
    if not isinstance(update, Update):
        return
    text = render.t("went_wrong", "bn")
    try:
        if update.callback_query is not None:
            await answer_query(context.bot, update.callback_query.id, text[:200], alert=True)
        elif update.effective_chat is not None:
            await send_text(context.bot, update.effective_chat.id, text)
    except TelegramError as exc:  # the apology itself failed: nothing more to do
        log.warning("could not tell the user about the error: %s", exc)
