"""/start CODE binds a Telegram user to the agent an invite was made for; /lang switches language."""

from __future__ import annotations

from telegram import Update

from core.errors import Conflict, NotFound
from core.team import agent_for_telegram_user, redeem_invite, set_language
from core.team.access import QUEUE_ROLES
from handlers.telegram import render
from handlers.telegram.delivery import send_text
from handlers.telegram.guard import Context, guarded, identify, refuse_stranger
from handlers.telegram.services import services

ROLE_BN = {
    "admin": "অ্যাডমিন",
    "manager": "ম্যানেজার",
    "agent": "এজেন্ট",
    "support": "সাপোর্ট",
    "delivery": "ডেলিভারি",
}


async def start(update: Update, context: Context) -> None:
    """Join with an invite code, or greet a member; strangers get one refusal."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    svc = services(context)
    code = context.args[0] if context.args else ""
    async with svc.writing() if code else svc.reading() as session:
        agent = await agent_for_telegram_user(session, user.id)
        joined = False
        if agent is None and code:
            try:
                agent = await redeem_invite(session, code, user.id, chat.id, svc.now())
                joined = True
            except (NotFound, Conflict):
                agent = None
        if agent is not None:
            name, role, lang = agent.name, agent.role, agent.language
    if agent is None:
        await refuse_stranger(update, context)
        return
    svc.refused.pop(user.id, None)
    key = "welcome" if joined else "already"
    role_text = ROLE_BN.get(role, role) if render.lang_of(lang) == "bn" else role
    await send_text(context.bot, chat.id, render.t(key, lang, name=name, role=role_text))


@guarded
async def language(update: Update, context: Context) -> None:
    """/lang bn|en: the language the bot speaks to this agent."""
    svc = services(context)
    wanted = (context.args[0].lower() if context.args else "").strip()
    async with svc.writing() as session:
        agent = await identify(session, update, QUEUE_ROLES)
        if wanted not in ("bn", "en"):
            wanted = "en" if agent.language == "bn" else "bn"
        await set_language(session, agent.id, wanted)
    assert update.effective_chat is not None
    await send_text(context.bot, update.effective_chat.id, render.t("language_set", wanted))


__all__ = ["language", "start"]
