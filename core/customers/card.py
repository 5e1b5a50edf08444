"""The Customer 360 as a short text card (CLI and Telegram), Bangla first, English on request."""

from __future__ import annotations

from core.clock import local_date
from core.customers.view import Customer360
from core.predictions.outlook import describe_outlook
from core.texts import format_date, localize_number, money

LABELS = {
    "bn": {
        "lang": "ভাষা",
        "orders": "অর্ডার",
        "ltv": "মোট কেনা (LTV)",
        "last": "শেষ অর্ডার",
        "days_ago": "দিন আগে",
        "every": "গড়ে {n} দিন পরপর",
        "none": "এখনো কোনো অর্ডার নেই",
        "wallet": "ওয়ালেট",
        "coupons": "কুপন",
        "until": "পর্যন্ত",
        "top": "প্রিয় পণ্য",
        "times": "বার",
        "recent": "সাম্প্রতিক অর্ডার",
        "engagements": "যোগাযোগ",
        "tasks": "খোলা কাজ",
        "agent": "এজেন্ট",
        "opted_out": "⛔ মার্কেটিং মেসেজ বন্ধ করেছেন",
        "no_consent": "⚠️ মার্কেটিং সম্মতি নেই",
        "no_whatsapp": "📵 WhatsApp নেই (SMS)",
    },
    "en": {
        "lang": "language",
        "orders": "orders",
        "ltv": "LTV",
        "last": "last order",
        "days_ago": "days ago",
        "every": "every {n} days on average",
        "none": "no orders yet",
        "wallet": "wallet",
        "coupons": "coupons",
        "until": "until",
        "top": "favourite products",
        "times": "times",
        "recent": "recent orders",
        "engagements": "engagements",
        "tasks": "open tasks",
        "agent": "agent",
        "opted_out": "⛔ opted out of marketing",
        "no_consent": "⚠️ no marketing consent",
        "no_whatsapp": "📵 not on WhatsApp (SMS)",
    },
}
SEGMENT_BN = {
    "prospect": "সম্ভাব্য",
    "new": "নতুন",
    "active": "সক্রিয়",
    "at_risk": "ঝুঁকিতে",
    "churned": "হারিয়ে গেছেন",
    "repeat": "রিপিট",
    "vip": "ভিআইপি",
    "inactive": "নিষ্ক্রিয়",
    "hot": "HOT",
    "warm": "WARM",
    "cold": "COLD",
    "none": "সদস্য নন",
    "silver": "সিলভার",
    "gold": "গোল্ড",
    "permanent": "পারমানেন্ট",
}


def label(value: str, lang: str) -> str:
    """A segment or tier code in the reader's language."""
    if lang == "bn":
        return SEGMENT_BN.get(value, value)
    return (
        value.replace("_", " ").upper()
        if value in ("hot", "warm", "cold")
        else value.replace("_", " ")
    )


def render_360(v: Customer360, lang: str = "bn") -> str:
    """The card: identity, segments, value, wallet, predictions, products, history, tasks."""
    t = LABELS["bn" if lang == "bn" else "en"]
    n = lambda x: localize_number(x, lang)  # noqa: E731
    lines = [f"👤 {v.name or '—'} · {v.phone}"]
    place = ", ".join(p for p in (v.district, v.city) if p)
    lines.append(
        f"📍 {place or '—'} · {t['lang']}: {v.language}"
        + (f" · {t['agent']}: {v.agent}" if v.agent else "")
    )
    tier = label(v.tier, lang)
    if v.tier_since:
        since = format_date(v.tier_since, lang)
        tier += f" ({since} থেকে)" if lang == "bn" else f" (since {since})"
    lines.append(
        f"🏅 {tier} · {label(v.customer_type, lang)} · {label(v.lifecycle_stage, lang)} · "
        f"{label(v.priority_level, lang)}"
    )
    if v.last_order_date:
        value = (
            f"🛒 {t['orders']} {n(v.order_count)} · {t['ltv']} {money(v.ltv, lang)} · "
            f"{t['last']} {format_date(v.last_order_date, lang)} ({n(v.days_since_last_order)} {t['days_ago']})"
        )
        if v.avg_days_between_orders:
            value += " · " + t["every"].format(n=n(round(v.avg_days_between_orders)))
        lines.append(value)
    else:
        lines.append(f"🛒 {t['none']}")
    flags = []
    if v.opted_out:
        flags.append(t["opted_out"])
    elif not v.marketing_consent:
        flags.append(t["no_consent"])
    if v.whatsapp_status == "no":
        flags.append(t["no_whatsapp"])
    lines.extend(flags)
    money_line = f"💰 {t['wallet']} {money(v.wallet_balance, lang)}"
    if v.coupons:
        money_line += f" · {t['coupons']}: " + ", ".join(
            f"{c.code} ({localize_number(c.discount, lang)}, {format_date(c.valid_until, lang)} {t['until']})"
            for c in v.coupons[:3]
        )
    lines.append(money_line)
    if v.outlook is not None:
        lines.extend(f"🔮 {line}" for line in describe_outlook(v.outlook, lang))
    if v.top_products:
        lines.append(
            f"⭐ {t['top']}: "
            + ", ".join(
                f"{(p.name_bn if lang == 'bn' and p.name_bn else p.name)} ({n(p.orders)} {t['times']})"
                for p in v.top_products
            )
        )
    if v.recent_orders:
        lines.append(f"🧾 {t['recent']}:")
        for o in v.recent_orders:
            lines.append(
                f"  • {format_date(o.order_date, lang)} {o.external_id} {money(o.total, lang)}"
                + ("" if o.status == "delivered" else f" [{o.status}]")
                + (f" — {'; '.join(o.lines)}" if o.lines else "")
            )
    if v.engagements:
        lines.append(f"💬 {t['engagements']}:")
        for e in v.engagements:
            arrow = "←" if e.direction == "in" else "→"
            what = e.outcome or e.kind
            body = f": {e.body[:60]}" if e.body else ""
            when = format_date(local_date(e.occurred_at), lang)
            lines.append(f"  • {when} {arrow} {e.channel} {what}{body}")
    if v.open_tasks:
        lines.append(f"📋 {t['tasks']}:")
        for task in v.open_tasks:
            lines.append(f"  • #{task.id} {task.type} · {format_date(task.due_date, lang)}")
    return "\n".join(lines)
