"""What the bot says to agents: texts and inline keyboards, Bangla first, English per agent.

Callback data is "t:{task_id}:{action}[:{arg}]" for task buttons, "q" for the first task,
"p:{page}" for task pages; `callback` refuses anything over Telegram's 64 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.customers.card import label
from core.predictions.outlook import CustomerOutlook
from core.shopconfig.schema import TemplatesConfig
from core.team import LATER_CHOICES, NOT_INTERESTED_REASONS, Overview, TaskCard, TaskLine
from core.texts import format_date, localize_number, money, render

CALLBACK_MAX_BYTES = 64
FALLING = 0.05  # a drop in P(alive) worth pointing out, as on the Customer 360
LEVEL_ICON = {"hot": "🔥", "warm": "🌤", "cold": "❄️"}

TEXTS: dict[str, dict[str, str]] = {
    "bn": {
        "refusal": "দুঃখিত, এই বটটি শুধু TrustCart টিমের জন্য। যোগ দিতে ম্যানেজারের কাছ থেকে আমন্ত্রণ কোড নিন।\n"
        "Sorry, this bot is only for the TrustCart team. Ask your manager for an invite code.",
        "welcome": "স্বাগতম {name}! আপনি এখন TrustCart টিমে ({role})। আজকের কাজ দেখতে /today লিখুন।",
        "already": "আপনি আগেই যুক্ত আছেন, {name}। /today দিয়ে শুরু করুন।",
        "today": "📋 আজকের কাজ ({date}): {total}টি\nবাকি {pending} · সম্পন্ন {completed} · পরে কল {waiting}\n"
        "🔥 HOT {hot} · 🌤 WARM {warm} · ❄️ COLD {cold}",
        "start_next": "পরের কাজ ➡️",
        "no_tasks": "🎉 এখন আর কোনো কাজ নেই।",
        "ordered": "অর্ডার ✅",
        "no_answer": "ধরেননি 📵",
        "call_later": "পরে কল ⏰",
        "not_interested": "আগ্রহী নন 🙅",
        "wrong_number": "ভুল নম্বর",
        "note": "নোট 📝",
        "next": "পরের ➡️",
        "back": "⬅️ ফিরে যান",
        "later_2h": "+২ ঘণ্টা",
        "later_tomorrow": "আগামীকাল",
        "later_3d": "+৩ দিন",
        "reason_price": "দাম বেশি",
        "reason_has_stock": "এখনো আছে",
        "reason_quality": "মান নিয়ে অভিযোগ",
        "reason_moved": "ঠিকানা বদলেছে",
        "reason_other": "অন্য কারণ",
        "note_prompt": "📝 টাস্ক #{task}-এর নোট লিখে পাঠান।",
        "note_saved": "📝 নোট রাখা হয়েছে।",
        "saved": "রাখা হয়েছে: {outcome}",
        "phone": "ফোন",
        "tier": "মেম্বারশিপ",
        "segment": "সেগমেন্ট",
        "last_order": "শেষ অর্ডার",
        "ltv": "মোট কেনা",
        "orders": "অর্ডার",
        "top": "প্রিয় পণ্য",
        "why": "কেন এখন",
        "confidence": "ছন্দের নিশ্চয়তা",
        "suggest": "সাজেশন",
        "code": "কোড",
        "script": "কল স্ক্রিপ্ট",
        "attempts": "চেষ্টা",
        "outlook_alive": "সক্রিয় থাকার সম্ভাবনা {pct}%",
        "outlook_falling": "(আগে {pct}%, কমছে)",
        "outlook_next": "পরের অর্ডার আনুমানিক {days} দিনে",
        "outlook_none": "শীঘ্রই অর্ডারের সম্ভাবনা কম",
        "outlook_clv": "১২ মাসের সম্ভাব্য কেনা {value}",
        "invalid_phone": "⚠️ নম্বরটি ভুল বলে চিহ্নিত",
        "tasks_page": "📋 খোলা কাজ {first}–{last} / {total}",
        "tasks_none": "কোনো খোলা কাজ নেই।",
        "prev": "⬅️ আগের",
        "more": "পরের পাতা ➡️",
        "done_title": "✅ আজকের হিসাব ({date})",
        "closed": "সম্পন্ন কাজ",
        "not_allowed": "এই কাজের অনুমতি আপনার নেই।\nYou may not do this.",
        "stale": "এই বাটনটি আর কার্যকর নয়।\nThis button is no longer valid.",
        "went_wrong": "দুঃখিত, কিছু একটা ভুল হয়েছে। আবার চেষ্টা করুন।\nSorry, something went wrong. Please try again.",
        "usage_customer": "লিখুন: /customer 01XXXXXXXXX",
        "language_set": "ভাষা: বাংলা",
    },
    "en": {
        "refusal": "দুঃখিত, এই বটটি শুধু TrustCart টিমের জন্য। যোগ দিতে ম্যানেজারের কাছ থেকে আমন্ত্রণ কোড নিন।\n"
        "Sorry, this bot is only for the TrustCart team. Ask your manager for an invite code.",
        "welcome": "Welcome {name}! You are now on the TrustCart team ({role}). Send /today to start.",
        "already": "You are already on the team, {name}. Send /today to start.",
        "today": "📋 Today's tasks ({date}): {total}\npending {pending} · done {completed} · call later {waiting}\n"
        "🔥 HOT {hot} · 🌤 WARM {warm} · ❄️ COLD {cold}",
        "start_next": "Next task ➡️",
        "no_tasks": "🎉 No more tasks right now.",
        "ordered": "Ordered ✅",
        "no_answer": "No answer 📵",
        "call_later": "Call later ⏰",
        "not_interested": "Not interested 🙅",
        "wrong_number": "Wrong number",
        "note": "Note 📝",
        "next": "Next ➡️",
        "back": "⬅️ Back",
        "later_2h": "+2 hours",
        "later_tomorrow": "Tomorrow",
        "later_3d": "+3 days",
        "reason_price": "Too expensive",
        "reason_has_stock": "Still has stock",
        "reason_quality": "Quality complaint",
        "reason_moved": "Moved away",
        "reason_other": "Other reason",
        "note_prompt": "📝 Send the note for task #{task}.",
        "note_saved": "📝 Note saved.",
        "saved": "Saved: {outcome}",
        "phone": "Phone",
        "tier": "Membership",
        "segment": "Segment",
        "last_order": "Last order",
        "ltv": "LTV",
        "orders": "orders",
        "top": "Top products",
        "why": "Why now",
        "confidence": "rhythm confidence",
        "suggest": "Suggest",
        "code": "code",
        "script": "Call script",
        "attempts": "attempts",
        "outlook_alive": "{pct}% chance still active",
        "outlook_falling": "(was {pct}%, falling)",
        "outlook_next": "next order in about {days} days",
        "outlook_none": "no order expected soon",
        "outlook_clv": "12-month value {value}",
        "invalid_phone": "⚠️ number marked wrong",
        "tasks_page": "📋 Open tasks {first}–{last} of {total}",
        "tasks_none": "No open tasks.",
        "prev": "⬅️ Previous",
        "more": "Next page ➡️",
        "done_title": "✅ Today's tally ({date})",
        "closed": "tasks closed",
        "not_allowed": "এই কাজের অনুমতি আপনার নেই।\nYou may not do this.",
        "stale": "এই বাটনটি আর কার্যকর নয়।\nThis button is no longer valid.",
        "went_wrong": "দুঃখিত, কিছু একটা ভুল হয়েছে। আবার চেষ্টা করুন।\nSorry, something went wrong. Please try again.",
        "usage_customer": "Send: /customer 01XXXXXXXXX",
        "language_set": "Language: English",
    },
}
TASK_TYPES = {
    "bn": {
        "reminder_call": "রিমাইন্ডার কল",
        "offer_followup": "অফার ফলো-আপ",
        "winback": "উইন-ব্যাক",
        "membership_upgrade": "মেম্বারশিপ আপগ্রেড",
        "card_generation": "কার্ড তৈরি",
        "reorder": "রি-অর্ডার",
        "support": "সাপোর্ট",
    },
    "en": {
        "reminder_call": "Reminder call",
        "offer_followup": "Offer follow-up",
        "winback": "Win-back",
        "membership_upgrade": "Membership upgrade",
        "card_generation": "Card generation",
        "reorder": "Reorder",
        "support": "Support",
    },
}
CONFIDENCE = {
    "bn": {"profile": "গড় প্রোফাইল", "low": "কম", "medium": "মাঝারি", "high": "বেশি"},
    "en": {"profile": "category average", "low": "low", "medium": "medium", "high": "high"},
}


def lang_of(language: str | None) -> str:
    """bn unless the agent chose English."""
    return "en" if language == "en" else "bn"


def t(key: str, lang: str, **values: Any) -> str:
    """A fixed text in the agent's language with `{name}` values filled in."""
    return render(TEXTS[lang_of(lang)][key], values, lang_of(lang))


def callback(*parts: Any) -> str:
    """Callback data for a button; refuses data Telegram would reject (over 64 bytes)."""
    data = ":".join(str(p) for p in parts)
    if len(data.encode("utf-8")) > CALLBACK_MAX_BYTES:
        raise ValueError(f"callback data over {CALLBACK_MAX_BYTES} bytes: {data!r}")
    return data


def _button(text: str, *parts: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callback(*parts))


def overview_text(ov: Overview, lang: str) -> str:
    """The /today dashboard."""
    return t(
        "today",
        lang,
        date=format_date(ov.as_of, lang_of(lang)),
        total=ov.total,
        pending=ov.pending,
        completed=ov.completed,
        waiting=ov.waiting,
        hot=ov.by_level.get("hot", 0),
        warm=ov.by_level.get("warm", 0),
        cold=ov.by_level.get("cold", 0),
    )


def overview_keyboard(ov: Overview, lang: str) -> InlineKeyboardMarkup | None:
    """A button to the first workable task, when there is one."""
    if ov.pending == 0:
        return None
    return InlineKeyboardMarkup([[_button(t("start_next", lang), "q")]])


def _product_names(suggestion: Mapping[str, Any], lang: str) -> str:
    names = []
    for p in suggestion.get("products") or []:
        name = (p.get("name_bn") if lang == "bn" else None) or p.get("name") or p.get("sku", "")
        qty = p.get("quantity_bn" if lang == "bn" else "quantity")
        names.append(f"{name} ({qty})" if qty else str(name))
    return ", ".join(n for n in names if n)


def _offer_code(suggestion: Mapping[str, Any]) -> str:
    for key in ("offer_code", "coupon_code", "coupon"):
        if suggestion.get(key):
            return str(suggestion[key])
    return ""


def script_text(card: TaskCard, templates: TemplatesConfig | None, lang: str) -> str:
    """The call script: the task's script template filled from the customer and the suggestion."""
    lang = lang_of(lang)
    key = card.script_key or f"script_{card.type}"
    if templates is None or key not in templates.templates:
        return ""
    s = card.suggestion
    code = _offer_code(s)
    variables: dict[str, Any] = {
        "name": card.customer_name,
        "product": _product_names(s, lang) or "—",
        "quantity": "",
        "offer": f"{t('code', lang)} {code}" if code else "",
        "coupon": code or "—",
        "campaign": s.get("campaign_name_bn" if lang == "bn" else "campaign_name") or "",
        "tier": s.get("tier_name") or label(s.get("tier", card.tier), lang),
        "benefits": s.get(f"benefits_{lang}") or "",
        "items": s.get(f"items_{lang}") or s.get("items") or "",
        "text": s.get("text") or "",
    }
    variables.update((s.get("script_vars") or {}).get(lang) or {})
    tpl = templates.get(key)
    return render(tpl.bn if lang == "bn" else tpl.en, variables, lang).strip()


def card_text(card: TaskCard, templates: TemplatesConfig | None, lang: str) -> str:
    """The task card: who, how to reach them, their value, why now, what to offer, what to say."""
    lang = lang_of(lang)
    n = lambda x: localize_number(x, lang)  # noqa: E731
    kind = TASK_TYPES[lang].get(card.type, card.type)
    lines = [
        f"{LEVEL_ICON.get(card.priority_level, '•')} {label(card.priority_level, 'en')} · {kind} · #{card.task_id}",
        f"👤 {card.customer_name or '—'}",
        f"📞 {card.phone}" + ("" if card.phone_valid else f"  {t('invalid_phone', lang)}"),
        f"🏅 {t('tier', lang)}: {label(card.tier, lang)} · {t('segment', lang)}: "
        f"{label(card.lifecycle_stage, lang)} / {label(card.customer_type, lang)}",
    ]
    if card.last_order_date is not None:
        last = format_date(card.last_order_date, lang)
        if card.last_order_total is not None:
            last += f" · {money(card.last_order_total, lang)}"
        lines.append(
            f"🛒 {t('last_order', lang)}: {last} · {t('ltv', lang)} {money(card.ltv, lang)} "
            f"({n(card.order_count)} {t('orders', lang)})"
        )
    if card.top_products:
        names = [(bn if lang == "bn" and bn else name) for name, bn in card.top_products]
        lines.append(f"⭐ {t('top', lang)}: {', '.join(names)}")
    reason = card.reason_bn if lang == "bn" else (card.reason_en or card.reason_bn)
    if reason:
        why = f"❓ {t('why', lang)}: {reason}"
        confidence = card.suggestion.get("confidence")
        if confidence:
            level = CONFIDENCE[lang].get(str(confidence), str(confidence))
            why += f" ({t('confidence', lang)}: {level})"
        lines.append(why)
    products, code = _product_names(card.suggestion, lang), _offer_code(card.suggestion)
    if products or code:
        offer = products + (f" · {t('code', lang)} {code}" if code else "")
        lines.append(f"🎁 {t('suggest', lang)}: {offer.strip(' ·')}")
    if card.outlook is not None:
        lines.append(outlook_line(card.outlook, lang))
    if card.attempts:
        lines.append(f"📵 {t('attempts', lang)}: {n(card.attempts)}")
    script = script_text(card, templates, lang)
    if script:
        lines.append(f"📝 {t('script', lang)}:\n{script}")
    return "\n".join(lines)


def outlook_line(o: CustomerOutlook, lang: str) -> str:
    """The prediction on one line: chance still active (and falling), next order, 12-month value."""
    lang = lang_of(lang)
    pct = lambda p: localize_number(round(p * 100), lang)  # noqa: E731
    parts = [t("outlook_alive", lang, pct=pct(o.p_alive))]
    if o.prev_p_alive is not None and o.prev_p_alive - o.p_alive >= FALLING:
        parts[0] += " " + t("outlook_falling", lang, pct=pct(o.prev_p_alive))
    if o.expected_next_order_days is not None:
        days = localize_number(o.expected_next_order_days, lang)
        parts.append(t("outlook_next", lang, days=days))
    else:
        parts.append(t("outlook_none", lang))
    if o.clv_12m is not None:
        parts.append(t("outlook_clv", lang, value=money(round(o.clv_12m), lang)))
    return "🔮 " + " · ".join(parts)


def card_keyboard(task_id: int, lang: str) -> InlineKeyboardMarkup:
    """The outcome buttons under a task card."""
    b = lambda key, action: _button(t(key, lang), "t", task_id, action)  # noqa: E731
    return InlineKeyboardMarkup(
        [
            [b("ordered", "o"), b("no_answer", "n")],
            [b("call_later", "L"), b("not_interested", "X")],
            [b("wrong_number", "w"), b("note", "m")],
            [b("next", "s")],
        ]
    )


def later_keyboard(task_id: int, lang: str) -> InlineKeyboardMarkup:
    """When to call back: +2 h, tomorrow, +3 days."""
    row = [_button(t(f"later_{c}", lang), "t", task_id, "l", c) for c in LATER_CHOICES]
    return InlineKeyboardMarkup([row, [_button(t("back", lang), "t", task_id, "b")]])


def reasons_keyboard(task_id: int, lang: str) -> InlineKeyboardMarkup:
    """Why the customer is not interested."""
    rows = [[_button(t(f"reason_{r}", lang), "t", task_id, "x", r)] for r in NOT_INTERESTED_REASONS]
    return InlineKeyboardMarkup([*rows, [_button(t("back", lang), "t", task_id, "b")]])


def outcome_label(outcome: str, lang: str) -> str:
    """An outcome as its button reads."""
    return t(outcome, lang)


def tasks_page_text(lines: list[TaskLine], total: int, page: int, size: int, lang: str) -> str:
    """A page of /tasks."""
    if not lines:
        return t("tasks_none", lang)
    first = page * size + 1
    head = t("tasks_page", lang, first=first, last=first + len(lines) - 1, total=total)
    kinds = TASK_TYPES[lang_of(lang)]
    rows = [
        f"{LEVEL_ICON.get(x.priority_level, '•')} #{x.id} {x.customer_name or '—'} · "
        f"{kinds.get(x.type, x.type)}"
        for x in lines
    ]
    return "\n".join([head, *rows])


def tasks_page_keyboard(
    lines: list[TaskLine], total: int, page: int, size: int, lang: str
) -> InlineKeyboardMarkup | None:
    """A button per task on the page, then previous/next page."""
    rows = [[_button(f"#{x.id} {x.customer_name[:24]}", "t", x.id, "b")] for x in lines]
    nav = []
    if page > 0:
        nav.append(_button(t("prev", lang), "p", page - 1))
    if (page + 1) * size < total:
        nav.append(_button(t("more", lang), "p", page + 1))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


def tally_text(tally: Mapping[str, int], as_of: Any, lang: str) -> str:
    """/done: the day's outcomes and closed tasks."""
    lang = lang_of(lang)
    lines = [t("done_title", lang, date=format_date(as_of, lang))]
    for outcome in ("ordered", "no_answer", "call_later", "not_interested", "wrong_number", "note"):
        lines.append(f"{t(outcome, lang)}: {localize_number(tally.get(outcome, 0), lang)}")
    lines.append(f"{t('closed', lang)}: {localize_number(tally.get('closed', 0), lang)}")
    return "\n".join(lines)
