"""What each Twilio / WhatsApp error code means for the customer, and what the shop does about it.

63016 outside the 24-hour window   → resend as the approved template, else a call task
63024 not a WhatsApp user          → mark the number, fall back to SMS, call task for HOT
63014 blocked / withdrew consent   → no more WhatsApp marketing to them
63049 Meta's marketing cap         → pause their marketing for N days, then try again
63018 rate / tier limit            → try again later (the dispatcher also slows down)
21610 unsubscribed on Twilio       → opt-out in our ledger
21211, 21614, 21217, 63003, 30006  → the number is invalid
Each failure keeps its code on the message; `delivery_errors` counts them for the reports.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_date
from core.consent import record_opt_out
from core.models import Customer, Message
from core.outbox import OutgoingMessage, queue_messages
from core.shopconfig import ShopConfig
from core.tasks import NewTask, create_tasks, task_priority

OUTSIDE_WINDOW = "63016"
NOT_ON_WHATSAPP = "63024"
BLOCKED = "63014"
META_MARKETING_CAP = "63049"
RATE_LIMITED = "63018"
UNSUBSCRIBED = "21610"
INVALID_NUMBER = frozenset({"21211", "21614", "21217", "63003", "30006"})
TOO_MANY_REQUESTS = "20429"
FAILED_STATUSES = ("failed", "undelivered")
MAX_DERIVED = 3  # a resend of a resend of a resend… stops here

_CALL_TASKS = {
    "reminder": ("reminder_call", "script_reminder_call"),
    "late_touch": ("reminder_call", "script_reminder_call"),
    "winback": ("winback", "script_winback"),
    "membership_upgrade": ("membership_upgrade", "script_membership_upgrade"),
}
_WHY = {
    OUTSIDE_WINDOW: (
        "WhatsApp মেসেজ যায়নি (২৪ ঘণ্টার বাইরে, অনুমোদিত টেমপ্লেট নেই) — কল করুন",
        "WhatsApp message not delivered (outside the 24-hour window, no approved template) — call",
    ),
    NOT_ON_WHATSAPP: (
        "গ্রাহক WhatsApp ব্যবহার করেন না — SMS পাঠানো হয়েছে, কল করুন",
        "Customer is not on WhatsApp — SMS sent instead, call them",
    ),
}


def action_for(code: str | None) -> str:
    """The shop's action for a failure code (`none` for codes with no special handling)."""
    if code is None:
        return "none"
    if code == OUTSIDE_WINDOW:
        return "resend_template"
    if code == NOT_ON_WHATSAPP:
        return "fallback_sms"
    if code == BLOCKED:
        return "stop_whatsapp_marketing"
    if code == META_MARKETING_CAP:
        return "pause_marketing"
    if code == RATE_LIMITED:
        return "slow_down"
    if code == UNSUBSCRIBED:
        return "opt_out"
    if code in INVALID_NUMBER:
        return "invalid_number"
    return "none"


_RESEND_SUFFIXES = frozenset({"sms", "template", "later", "retry"})


def _derived(key: str, suffix: str) -> str | None:
    """The dedupe key of a resend (`{orig}:sms`), None once resends have gone deep enough."""
    depth = 0
    for part in reversed(key.split(":")):
        if part not in _RESEND_SUFFIXES:
            break
        depth += 1
    if depth >= MAX_DERIVED or len(key) > 190:
        return None
    return f"{key}:{suffix}"


def _copy(message: Message, channel: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        dedupe_key=message.dedupe_key,
        customer_id=message.customer_id,
        channel=channel or message.channel,
        template_key=message.template_key,
        variables=dict(message.variables or {}),
        purpose=message.purpose,
        task_id=message.task_id,
        campaign_id=message.campaign_id,
    )


async def _requeue(
    session: AsyncSession,
    cfg: ShopConfig,
    message: Message,
    key: str | None,
    now: datetime,
    *,
    channel: str | None = None,
    not_before: datetime | None = None,
    values: dict[str, Any] | None = None,
) -> int:
    """Queue a copy of a failed message under a derived key; returns 1 when it was queued."""
    if key is None:
        return 0
    out = replace(_copy(message, channel), dedupe_key=key)
    day = local_date(not_before or now)
    result = await queue_messages(session, [out], day, cfg.messaging)
    extra = dict(values or {})
    if not_before is not None:
        extra["not_before"] = not_before
    if result.queued and extra:
        await session.execute(update(Message).where(Message.dedupe_key == key).values(**extra))
    return result.queued


async def _call_task(
    session: AsyncSession, customer: Customer, message: Message, code: str, now: datetime
) -> int:
    task_type, script = _CALL_TASKS.get(
        message.template_key, ("offer_followup", "script_offer_followup")
    )
    why_bn, why_en = _WHY.get(
        code,
        (f"মেসেজ যায়নি (কোড {code}) — কল করুন", f"Message not delivered (code {code}) — call"),
    )
    today = local_date(now)
    task = NewTask(
        dedupe_key=f"undelivered:{message.id}",
        type=task_type,
        customer_id=customer.id,
        due_date=today,
        priority_level=customer.priority_level,
        priority=task_priority(customer.priority_level, float(customer.total_spend or 0)),
        reason_bn=why_bn,
        reason_en=why_en,
        suggestion={
            "message_id": message.id,
            "template_key": message.template_key,
            "variables": dict(message.variables or {}),
            "error_code": code,
        },
        script_key=script,
        campaign_id=message.campaign_id,
        agent_id=customer.assigned_agent_id,
    )
    await create_tasks(session, [task], today)
    return 1


async def apply_failure(
    session: AsyncSession, message: Message, code: str | None, now: datetime, cfg: ShopConfig
) -> list[str]:
    """Act on a failed message's code (once: call it on the transition into failed)."""
    action = action_for(code)
    if action == "none" or code is None:
        return []
    customer = await session.get(Customer, message.customer_id)
    if customer is None:
        return []
    done: list[str] = [action]
    if action == "resend_template":
        template = cfg.templates.templates.get(message.template_key)
        if template and template.content_sid and message.send_as != "template":
            key = _derived(message.dedupe_key, "template")
            if await _requeue(session, cfg, message, key, now, values={"send_as": "template"}):
                done.append("queued_template")
                return done
        done.append("call_task")
        await _call_task(session, customer, message, code, now)
    elif action == "fallback_sms":
        customer.whatsapp_status = "no"
        if message.channel == "whatsapp":
            key = _derived(message.dedupe_key, "sms")
            if await _requeue(session, cfg, message, key, now, channel="sms"):
                done.append("queued_sms")
        if customer.priority_level == "hot":
            await _call_task(session, customer, message, code, now)
            done.append("call_task")
    elif action == "stop_whatsapp_marketing":
        customer.whatsapp_status = "blocked"
    elif action == "pause_marketing":
        until = now + timedelta(days=cfg.messaging.meta_cap_pause_days)
        current = customer.marketing_paused_until
        customer.marketing_paused_until = max(until, current) if current else until
        if message.purpose == "marketing":
            key = _derived(message.dedupe_key, "later")
            if await _requeue(session, cfg, message, key, now, not_before=until):
                done.append("queued_later")
    elif action == "slow_down":
        later = now + timedelta(minutes=10)
        if await _requeue(
            session, cfg, message, _derived(message.dedupe_key, "retry"), now, not_before=later
        ):
            done.append("queued_retry")
    elif action == "opt_out":
        await record_opt_out(session, customer, "twilio", now, f"Twilio error {code}")
    elif action == "invalid_number":
        customer.phone_valid = False
    await session.flush()
    return done


async def delivery_errors(
    session: AsyncSession, since: datetime, campaign_id: int | None = None
) -> dict[str, int]:
    """Failed and undelivered messages since an instant, counted by error code."""
    code = func.coalesce(Message.error_code, literal_column("'unknown'")).label("code")
    stmt = (
        select(code, func.count())
        .where(Message.status.in_(FAILED_STATUSES), Message.failed_at >= since)
        .group_by(code)
    )
    if campaign_id is not None:
        stmt = stmt.where(Message.campaign_id == campaign_id)
    rows = (await session.execute(stmt)).all()
    return {str(code): int(n) for code, n in sorted(rows, key=lambda r: (-r[1], str(r[0])))}
