"""What the bot says to managers: the day's summary, team and campaign reports, overflow, invites."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from core.customers.card import label
from core.kpis import AgentPerformance, CampaignPerformance, DailySummary
from core.texts import format_date, localize_number, money
from handlers.telegram.render import TASK_TYPES, lang_of


def _pct(rate: float, lang: str) -> str:
    return localize_number(round(rate * 100, 1), lang) + "%"


def summary_text(s: DailySummary, lang: str) -> str:
    """/summary and the end-of-day push: tasks, messages, orders and revenue influenced, segments."""
    lang = lang_of(lang)
    n = lambda x: localize_number(x, lang)  # noqa: E731
    m = s.messages
    if lang == "bn":
        lines = [
            f"📊 দিনের সারাংশ — {format_date(s.day, lang)}",
            f"কাজ: তৈরি {n(s.tasks_generated)} · সম্পন্ন {n(s.tasks_completed)}",
            f"মেসেজ: কিউ {n(m.queued)} · পাঠানো {n(m.sent)} · পৌঁছেছে {n(m.delivered)} · "
            f"পড়েছে {n(m.read)} · উত্তর {n(m.replied)} · ব্যর্থ {n(m.failed)}",
            f"অর্ডার: {n(s.orders)} · আয় {money(s.revenue, lang)}",
            f"প্রভাবিত অর্ডার: {n(s.influenced.orders)} · {money(s.influenced.revenue, lang)} "
            f"(কল {n(s.influenced_by_tasks.orders)}, মেসেজ {n(s.influenced_by_messages.orders)})",
        ]
    else:
        lines = [
            f"📊 Daily summary — {format_date(s.day, lang)}",
            f"Tasks: generated {s.tasks_generated} · completed {s.tasks_completed}",
            f"Messages: queued {m.queued} · sent {m.sent} · delivered {m.delivered} · "
            f"read {m.read} · replied {m.replied} · failed {m.failed}",
            f"Orders: {s.orders} · revenue {money(s.revenue, lang)}",
            f"Influenced: {s.influenced.orders} orders · {money(s.influenced.revenue, lang)} "
            f"(calls {s.influenced_by_tasks.orders}, messages {s.influenced_by_messages.orders})",
        ]
    for a in s.agents:
        lines.append(f"  • {a.agent_name}: {n(a.completed)}/{n(a.generated)}")
    split = " · ".join(f"{label(k, lang)} {n(v)}" for k, v in s.priority_split.items())
    lines.append(("গ্রাহক: " if lang == "bn" else "Customers: ") + split)
    return "\n".join(lines)


def team_text(report: Sequence[AgentPerformance], start: date, end: date, lang: str) -> str:
    """/team: calls, conversion, follow-up completion and revenue influenced per agent."""
    lang = lang_of(lang)
    n = lambda x: localize_number(x, lang)  # noqa: E731
    period = f"{format_date(start, lang)} – {format_date(end, lang)}"
    head = f"👥 টিম — {period}" if lang == "bn" else f"👥 Team — {period}"
    lines = [head]
    for a in report:
        if lang == "bn":
            lines.append(
                f"• {a.agent_name}: কল {n(a.calls)} (দৈনিক {n(round(a.calls_per_day, 1))}) · "
                f"কনভার্শন {_pct(a.conversion_rate, lang)} · ফলো-আপ "
                f"{_pct(a.followup_completion_rate, lang)} · {money(a.revenue_influenced, lang)}"
            )
        else:
            lines.append(
                f"• {a.agent_name}: calls {a.calls} ({round(a.calls_per_day, 1)}/day) · "
                f"conversion {_pct(a.conversion_rate, lang)} · follow-up "
                f"{_pct(a.followup_completion_rate, lang)} · {money(a.revenue_influenced, lang)}"
            )
    if not report:
        lines.append("—")
    return "\n".join(lines)


def campaigns_text(report: Sequence[CampaignPerformance], lang: str) -> str:
    """/campaigns: delivery, response, conversion (vs holdout) and coupon redemption."""
    lang = lang_of(lang)
    lines = ["📣 ক্যাম্পেইন" if lang == "bn" else "📣 Campaigns"]
    for c in report:
        name = (c.name_bn or c.name) if lang == "bn" else c.name
        hold = f" (holdout {_pct(c.holdout_conversion_rate, lang)})" if c.uplift is not None else ""
        redeemed = (
            f"{localize_number(c.coupons_redeemed, lang)}/{localize_number(c.coupons_issued, lang)}"
        )
        lines.append(
            f"• {name} [{c.status}]: delivery {_pct(c.delivery_rate, lang)} · response "
            f"{_pct(c.response_rate, lang)} · conversion {_pct(c.conversion_rate, lang)}{hold} · "
            f"coupons {redeemed}"
        )
    if not report:
        lines.append("—")
    return "\n".join(lines)


def overflow_text(report: Any, lang: str) -> str:
    """/overflow: work rolled to a later day for lack of capacity."""
    lang = lang_of(lang)
    n = lambda x: localize_number(x, lang)  # noqa: E731
    kinds = TASK_TYPES[lang]
    head = "⏭ ওভারফ্লো" if lang == "bn" else "⏭ Overflow"
    lines = [f"{head} — {format_date(report.as_of, lang)}: {n(report.waiting)}"]
    if report.by_type:
        lines.append(", ".join(f"{kinds.get(k, k)} {n(v)}" for k, v in report.by_type.items()))
    if report.by_district:
        lines.append(", ".join(f"{k} {n(v)}" for k, v in report.by_district.most_common(8)))
    for line in report.top:
        lines.append(
            f"#{line.id} {line.customer_name or '—'} · {kinds.get(line.type, line.type)} · "
            f"{label(line.priority_level, lang)} · {format_date(line.due_date, lang)}"
        )
    return "\n".join(lines)


def invite_text(name: str, code: str, expires_at: datetime, link: str | None, lang: str) -> str:
    """The code (and deep link) a manager forwards to a new team member."""
    lang = lang_of(lang)
    when = format_date(expires_at.date(), lang)
    if lang == "bn":
        text = f"🔑 {name}-এর আমন্ত্রণ কোড: {code}\nমেয়াদ: {when} পর্যন্ত, একবার ব্যবহারযোগ্য।"
        join = "যোগ দিতে"
    else:
        text = f"🔑 Invite code for {name}: {code}\nValid until {when}, single use."
        join = "To join"
    if link:
        text += f"\n{join}: {link}"
    else:
        text += f"\n{join}: /start {code}"
    return text


def reassigned_text(task_id: int, agent_name: str, lang: str) -> str:
    """Confirmation of /reassign."""
    if lang_of(lang) == "bn":
        return f"✅ টাস্ক #{task_id} এখন {agent_name}-এর।"
    return f"✅ Task #{task_id} now belongs to {agent_name}."
