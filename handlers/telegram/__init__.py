"""Telegram adapters: thin PTB handlers that call core.team and render the answer.

`register(application)` adds every command, button and text handler and the error handler;
the composition root (bot/app.py) installs `BotServices` first.
"""

from __future__ import annotations

from typing import Any

from telegram import BotCommand
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.telegram import agent, manager, start
from handlers.telegram.errors import on_error

COMMANDS = [
    ("today", "আজকের কাজ / today's tasks"),
    ("tasks", "খোলা কাজের তালিকা / open tasks"),
    ("customer", "গ্রাহকের ৩৬০ / customer 360"),
    ("done", "আজকের হিসাব / today's tally"),
    ("lang", "ভাষা / language bn|en"),
    ("summary", "দিনের সারাংশ / daily summary"),
    ("team", "টিমের পারফরম্যান্স / team report"),
    ("campaigns", "ক্যাম্পেইন / campaigns"),
    ("overflow", "ওভারফ্লো / overflow"),
    ("reassign", "টাস্ক হস্তান্তর / reassign a task"),
    ("invite", "আমন্ত্রণ কোড / invite code"),
]


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the bot's handlers (private chats only) and the error handler."""
    private = filters.ChatType.PRIVATE
    commands = {
        "start": start.start,
        "lang": start.language,
        "today": agent.today,
        "tasks": agent.tasks,
        "customer": agent.customer,
        "done": agent.done,
        "summary": manager.summary,
        "team": manager.team,
        "campaigns": manager.campaigns,
        "overflow": manager.overflow,
        "reassign": manager.reassign_task,
        "invite": manager.invite,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=private))
    application.add_handler(CallbackQueryHandler(agent.on_button))
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, agent.text_message)
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, agent.unknown_command))
    application.add_error_handler(on_error)


def bot_commands() -> list[BotCommand]:
    """The command menu shown in Telegram clients."""
    return [BotCommand(name, description) for name, description in COMMANDS]
