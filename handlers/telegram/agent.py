"""The agent's day: /today, the task card and its buttons, /tasks, /customer, /done, notes.

Every button carries "t:{task_id}:{action}[:{arg}]" and is checked again on the server (the task
must be open and assigned to the tapping agent); each outcome edits the same message to show the
next task, so the chat does not fill up.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update

from core.clock import local_date
from core.customers.card import render_360
from core.customers.view import customer_360
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.models import Agent
from core.phones import normalize_phone
from core.team import (
    ask_for_note,
    day_tally,
    list_tasks,
    load_card,
    next_task_id,
    record_outcome,
    require_customer_access,
    save_note,
    stop_waiting_for_note,
    task_for_agent,
    today_overview,
)
from core.team.access import QUEUE_ROLES
from handlers.telegram import render
from handlers.telegram.delivery import answer_query, edit_text, send_text
from handlers.telegram.guard import Context, guarded, identify
from handlers.telegram.services import BotServices, services

PAGE_SIZE = 8
OUTCOME_ACTIONS = {
    "o": "ordered",
    "n": "no_answer",
    "l": "call_later",
    "x": "not_interested",
    "w": "wrong_number",
}
Screen = tuple[str, InlineKeyboardMarkup | None]


async def _card_screen(session: Any, svc: BotServices, task_id: int, lang: str) -> Screen:
    card = await load_card(session, task_id)
    cfg = await svc.config(session)
    templates = cfg.templates if cfg is not None else None
    return render.card_text(card, templates, lang), render.card_keyboard(task_id, lang)


async def _next_screen(
    session: Any, svc: BotServices, agent: Agent, after_task_id: int | None = None
) -> Screen:
    """The next task's card, or today's overview when the queue is empty."""
    now = svc.now()
    as_of = local_date(now)
    task_id = await next_task_id(session, agent.id, as_of, now, after_task_id=after_task_id)
    if task_id is not None:
        return await _card_screen(session, svc, task_id, agent.language)
    ov = await today_overview(session, agent.id, as_of, now)
    return render.t("no_tasks", agent.language) + "\n\n" + render.overview_text(
        ov, agent.language
    ), None


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


@guarded
async def today(update: Update, context: Context) -> None:
    """/today: the day's counts and a button to the first task."""
    svc = services(context)
    now = svc.now()
    async with svc.reading() as session:
        agent = await identify(session, update, QUEUE_ROLES)
        ov = await today_overview(session, agent.id, local_date(now), now)
        lang = agent.language
    await send_text(
        context.bot,
        _chat_id(update),
        render.overview_text(ov, lang),
        render.overview_keyboard(ov, lang),
    )


@guarded
async def on_button(update: Update, context: Context) -> None:
    """Every agent button: first task, task actions, task pages."""
    query = update.callback_query
    assert query is not None and query.message is not None
    svc = services(context)
    parts = (query.data or "").split(":")
    toast: str | None = None
    if len(parts) in (3, 4) and parts[0] == "t" and parts[2] in OUTCOME_ACTIONS:
        screen, toast = await _tap_outcome(update, svc, parts)
    elif parts[0] == "t" and len(parts) == 3 and parts[1].isdigit() and parts[2] == "m":
        screen, toast = await _ask_note(update, svc, int(parts[1]), query.message.message_id)
    else:
        async with svc.reading() as session:
            agent = await identify(session, update, QUEUE_ROLES)
            if parts == ["q"]:
                screen = await _next_screen(session, svc, agent)
            elif parts[0] == "p" and len(parts) == 2 and parts[1].isdigit():
                screen = await _tasks_screen(session, svc, agent, int(parts[1]))
            elif parts[0] == "t" and len(parts) == 3 and parts[1].isdigit():
                screen = await _task_view(session, svc, agent, int(parts[1]), parts[2])
            else:
                raise NotFound(f"unknown button {query.data!r}")
    await answer_query(context.bot, query.id, toast)
    text, markup = screen
    await edit_text(context.bot, query.message.chat.id, query.message.message_id, text, markup)


async def _tap_outcome(update: Update, svc: BotServices, parts: list[str]) -> tuple[Screen, str]:
    """An outcome button, for its open task, by its assignee only; then the next card.

    The next card is read first, leaving the tapped task out (an outcome always takes it out of
    the workable queue), so the write is only the outcome: one short transaction, committed
    together with other agents' taps on SQLite. The screen changes once the outcome committed.
    """
    _, raw_id, action, *rest = parts
    arg = rest[0] if rest else None
    if not raw_id.isdigit() or (action in ("l", "x")) != (arg is not None):
        raise NotFound(f"malformed button {':'.join(parts)!r}")
    task_id, outcome = int(raw_id), OUTCOME_ACTIONS[action]
    now = svc.now()
    async with svc.reading() as session:
        agent = await identify(session, update, QUEUE_ROLES)
        team = await svc.team(session)
        next_id = await next_task_id(
            session,
            agent.id,
            local_date(now),
            now,
            skip_task_id=task_id,
            skip_its_customer=outcome == "wrong_number",  # their other calls get cancelled
        )
        screen = (
            await _card_screen(session, svc, next_id, agent.language)
            if next_id is not None
            else None
        )
    await svc.write(
        lambda session: record_outcome(
            session,
            task_id,
            agent.id,
            outcome,
            now,
            later=arg if action == "l" else None,
            reason=arg if action == "x" else None,
            team=team,
        )
    )
    if screen is None:  # that was the last one: today's counts, read after the outcome
        async with svc.reading() as session:
            screen = await _next_screen(session, svc, agent)
    lang = agent.language
    return screen, render.t("saved", lang, outcome=render.outcome_label(outcome, lang))


async def _ask_note(
    update: Update, svc: BotServices, task_id: int, message_id: int
) -> tuple[Screen, str]:
    """Note 📝: the agent's next text is the note for this task (kept in the database)."""
    async with svc.reading() as session:
        agent = await identify(session, update, QUEUE_ROLES)
        screen = await _card_screen(session, svc, task_id, agent.language)
    await svc.write(lambda session: ask_for_note(session, agent.id, task_id, message_id))
    return screen, render.t("note_prompt", agent.language, task=task_id)


async def _task_view(
    session: Any, svc: BotServices, agent: Agent, task_id: int, action: str
) -> Screen:
    """Menus, back and next on a task that must be open and the agent's own."""
    lang = agent.language
    await task_for_agent(session, task_id, agent.id)  # open and mine, or refuse
    if action == "s":
        return await _next_screen(session, svc, agent, after_task_id=task_id)
    text, keyboard = await _card_screen(session, svc, task_id, lang)
    if action == "L":
        return text, render.later_keyboard(task_id, lang)
    if action == "X":
        return text, render.reasons_keyboard(task_id, lang)
    if action == "b":
        return text, keyboard
    raise NotFound(f"unknown task action {action!r}")


async def _tasks_screen(session: Any, svc: BotServices, agent: Agent, page: int) -> Screen:
    lines, total = await list_tasks(session, agent.id, svc.today(), page, PAGE_SIZE)
    lang = agent.language
    return (
        render.tasks_page_text(lines, total, page, PAGE_SIZE, lang),
        render.tasks_page_keyboard(lines, total, page, PAGE_SIZE, lang),
    )


@guarded
async def tasks(update: Update, context: Context) -> None:
    """/tasks: the open queue, a page at a time, each task one tap away."""
    svc = services(context)
    async with svc.reading() as session:
        agent = await identify(session, update, QUEUE_ROLES)
        text, markup = await _tasks_screen(session, svc, agent, 0)
    await send_text(context.bot, _chat_id(update), text, markup)


@guarded
async def customer(update: Update, context: Context) -> None:
    """/customer PHONE: the 360 view; agents only see their own customers."""
    svc = services(context)
    raw = " ".join(context.args or [])
    async with svc.reading() as session:
        agent = await identify(session, update, QUEUE_ROLES)
        lang = agent.language
        if not raw.strip():
            text = render.t("usage_customer", lang)
        else:
            phone = normalize_phone(raw)
            try:
                view = await customer_360(session, phone=phone, as_of=svc.today())
            except NotFound:
                raise InvalidInput(f"no customer with phone {phone}") from None
            await require_customer_access(session, agent, view.id)
            text = render_360(view, render.lang_of(lang))
    await send_text(context.bot, _chat_id(update), text)


@guarded
async def done(update: Update, context: Context) -> None:
    """/done: the day's tally of outcomes."""
    svc = services(context)
    as_of = svc.today()
    async with svc.reading() as session:
        agent = await identify(session, update, QUEUE_ROLES)
        tally = await day_tally(session, agent.id, as_of)
        lang = agent.language
    await send_text(context.bot, _chat_id(update), render.tally_text(tally, as_of, lang))


@guarded
async def text_message(update: Update, context: Context) -> None:
    """Plain text: the note an agent was asked for; strangers get their one refusal."""
    message = update.effective_message
    if message is None or not message.text:
        return
    svc = services(context)
    async with svc.reading() as session:
        agent = await identify(session, update, QUEUE_ROLES)
    task_id, card_message_id = agent.awaiting_note_task_id, agent.awaiting_note_message_id
    if task_id is None:
        return
    text, now = message.text, svc.now()
    try:
        await svc.write(lambda session: save_note(session, agent.id, task_id, text, now))
    except (Conflict, NotFound, PermissionDenied, InvalidInput):
        # the task moved on (closed, reassigned) or the text was empty: stop waiting anyway
        await svc.write(lambda session: stop_waiting_for_note(session, agent.id))
        raise
    async with svc.reading() as session:
        screen = await _card_screen(session, svc, task_id, agent.language)
    chat_id = _chat_id(update)
    await send_text(context.bot, chat_id, render.t("note_saved", agent.language))
    if card_message_id is not None:
        await edit_text(context.bot, chat_id, card_message_id, *screen)
    else:
        await send_text(context.bot, chat_id, *screen)


@guarded
async def unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not know: strangers get their one refusal, agents get /today."""
    svc = services(context)
    async with svc.reading() as session:
        agent = await identify(session, update, QUEUE_ROLES)
        lang = agent.language
    await send_text(context.bot, _chat_id(update), render.t("already", lang, name=agent.name))
