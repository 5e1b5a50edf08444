"""Talking to Telegram safely: flood-wait retries, long texts split, harmless errors ignored.

- RetryAfter (429): wait the given seconds and try again (a few times).
- BadRequest "message is not modified": the screen already shows it; ignore.
- Texts over 4096 characters are split at line breaks; the keyboard goes on the last part.
Forbidden (the user blocked the bot) is left to the caller, who knows which agent it was.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, RetryAfter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)
T = TypeVar("T")
TEXT_LIMIT = 4096
RETRIES = 3
MAX_WAIT_SECONDS = 60.0


def retry_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 returns int or timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return min(max(seconds, 0.0), MAX_WAIT_SECONDS)


async def with_retry(call: Callable[[], Awaitable[T]], retries: int = RETRIES) -> T:
    """Run an API call, honouring RetryAfter up to `retries` times."""
    for attempt in range(retries + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == retries:
                raise
            wait = retry_seconds(exc)
            log.warning("Telegram flood control: retrying in %.1fs", wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` characters, cut at line breaks where possible."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    parts.append(rest)
    return [p for p in parts if p] or [""]


def is_not_modified(exc: BadRequest) -> bool:
    """Whether Telegram refused an edit only because nothing changed."""
    return "message is not modified" in str(exc).lower()


async def send_text(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    """Send a text (split when long); returns the last message sent."""
    parts = split_text(text)
    message: Message | None = None
    for i, part in enumerate(parts):
        keyboard = markup if i == len(parts) - 1 else None
        message = await with_retry(
            functools.partial(bot.send_message, chat_id, part, reply_markup=keyboard)
        )
    assert message is not None
    return message


async def edit_text(
    bot: Bot,
    chat_id: int,
    message_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace a message's text and buttons; overflow goes to new messages; no-ops are ignored."""
    first, *rest = split_text(text)
    try:
        await with_retry(
            lambda: bot.edit_message_text(
                first,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=None if rest else markup,
            )
        )
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise
    if rest:
        await send_text(bot, chat_id, "\n".join(rest), markup)


async def answer_query(
    bot: Bot, query_id: str, text: str | None = None, alert: bool = False
) -> None:
    """Answer a button tap (a toast, or an alert box when `alert`)."""
    await with_retry(
        lambda: bot.answer_callback_query(query_id, text=text, show_alert=alert or None)
    )
