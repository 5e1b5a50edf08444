"""A customer's inbound WhatsApp/SMS message: log it, attribute it, act on its intent, answer.

One call is one unit of work (the caller's transaction): find or create the customer (an
unknown number becomes a prospect, consent source "inbound"), log an engagement attributed to
the last message we sent them within the attribution window, open their 24-hour window, then:
reorder → a reorder request + an urgent task for their agent + a confirmation; STOP → opt-out +
confirmation; START → opt-in; HELP → the help text; anything else → a support task.
A webhook retried by the provider (same message sid) changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_date
from core.consent import log_consent, record_opt_in, record_opt_out
from core.erp_orders import erp_payload
from core.intents import Intent, describe_quantity, parse_intent
from core.models import Customer, Engagement, Message, ReorderRequest, Task
from core.outbox import OutgoingMessage, queue_messages
from core.phones import normalize_phone
from core.shopconfig import ShopConfig
from core.sqlbulk import insert_ignore
from core.tasks import NewTask, create_tasks, task_priority

REMINDER_TEMPLATES = ("reminder", "late_touch", "reminder_offer", "reminder_basket")
OUTBOUND_STATUSES = ("sent", "delivered", "read")
_REPLY_TEMPLATE = {
    "opt_out": "opt_out_confirm",
    "opt_in": "opt_in_confirm",
    "help": "help",
    "reorder": "reorder_confirm",
    "other": "support_ack",
}


@dataclass(frozen=True)
class Inbound:
    sender: str  # "whatsapp:+8801…" or "+8801…"
    body: str
    provider_sid: str
    received_at: datetime
    profile_name: str | None = None


@dataclass
class InboundResult:
    customer_id: int
    intent: Intent
    duplicate: bool = False
    new_customer: bool = False
    engagement_id: int | None = None
    attributed_message_id: int | None = None
    replies_queued: int = 0
    reorder_request_id: int | None = None
    task_id: int | None = None
    erp_payload: dict[str, Any] | None = field(default=None, repr=False)


def channel_of(sender: str) -> str:
    """whatsapp for `whatsapp:` addresses, sms otherwise."""
    return "whatsapp" if sender.startswith("whatsapp:") else "sms"


async def _customer(
    session: AsyncSession, phone: str, inbound: Inbound, channel: str
) -> tuple[Customer, bool]:
    customer = await session.scalar(select(Customer).where(Customer.phone == phone))
    if customer is not None:
        return customer, False
    new = await insert_ignore(
        session,
        Customer,
        [
            {
                "phone": phone,
                "name": (inbound.profile_name or "")[:200],
                "lifecycle_stage": "prospect",
                "marketing_consent": True,
                "whatsapp_status": "yes" if channel == "whatsapp" else "unknown",
                "created_at": inbound.received_at,
            }
        ],
        ["phone"],
    )
    customer = await session.scalar(select(Customer).where(Customer.phone == phone))
    assert customer is not None
    if new:
        log_consent(
            session,
            customer.id,
            "opt_in",
            "inbound",
            inbound.received_at,
            "first message from an unknown number",
            channel,
        )
    return customer, bool(new)


async def _last_outbound(
    session: AsyncSession, customer_id: int, since: datetime, templates: tuple[str, ...] = ()
) -> Message | None:
    stmt = select(Message).where(
        Message.customer_id == customer_id,
        Message.status.in_(OUTBOUND_STATUSES),
        Message.sent_at >= since,
    )
    if templates:
        stmt = stmt.where(Message.template_key.in_(templates))
    return await session.scalar(stmt.order_by(Message.sent_at.desc(), Message.id.desc()).limit(1))


async def reorder_items(
    session: AsyncSession, message: Message | None, intent: Intent, lang: str
) -> list[dict[str, Any]]:
    """What the customer is reordering: the reminded products, with the quantity they gave."""
    said = describe_quantity(intent.quantity, intent.unit, lang)
    if message is None:
        return [{"product": None, "quantity": said}] if said else []
    task = await session.get(Task, message.task_id) if message.task_id else None
    products = (task.suggestion or {}).get("products") if task else None
    items: list[dict[str, Any]] = []
    if products:
        for p in products:
            items.append(
                {
                    "sku": p.get("sku"),
                    "product": p.get("name_bn" if lang == "bn" else "name") or p.get("name"),
                    "quantity": p.get("quantity_bn" if lang == "bn" else "quantity"),
                }
            )
    else:
        variables = message.variables or {}
        product = variables.get("product") or variables.get("items")
        items.append(
            {"sku": variables.get("sku"), "product": product, "quantity": variables.get("quantity")}
        )
    if said and len(items) == 1:
        items[0]["quantity"] = said
    return items


def items_text(items: list[dict[str, Any]], lang: str) -> str:
    """The items for the confirmation ("চাল ৫ কেজি")."""
    parts = [" ".join(str(v) for v in (i.get("product"), i.get("quantity")) if v) for i in items]
    parts = [p for p in parts if p]
    if not parts:
        return "আপনার আগের অর্ডার" if lang == "bn" else "your usual order"
    return ", ".join(parts)


async def handle_inbound(
    session: AsyncSession, inbound: Inbound, cfg: ShopConfig, *, erp: bool = False
) -> InboundResult:
    """Log and act on one inbound message (raises InvalidInput for a non-Bangladeshi sender).

    `erp`: the shop posts reorders to its ERP; a reorder is then left `pending` for the poster.
    """
    now = inbound.received_at
    today = local_date(now)
    channel = channel_of(inbound.sender)
    phone = normalize_phone(inbound.sender.removeprefix("whatsapp:"))
    customer, new = await _customer(session, phone, inbound, channel)
    intent = parse_intent(inbound.body)
    result = InboundResult(customer_id=customer.id, intent=intent, new_customer=new)
    since = now - timedelta(hours=cfg.messaging.reply_attribution_hours)
    attributed = await _last_outbound(session, customer.id, since)
    logged = await insert_ignore(
        session,
        Engagement,
        [
            {
                "customer_id": customer.id,
                "agent_id": customer.assigned_agent_id,
                "message_id": attributed.id if attributed else None,
                "kind": "reply",
                "channel": channel,
                "direction": "in",
                "outcome": intent.kind,
                "body": inbound.body[:4000],
                "external_ref": inbound.provider_sid,
                "occurred_at": now,
                "occurred_on": today,
            }
        ],
        ["external_ref"],
    )
    if not logged:
        result.duplicate = True
        return result
    result.engagement_id = await session.scalar(
        select(Engagement.id).where(Engagement.external_ref == inbound.provider_sid)
    )
    result.attributed_message_id = attributed.id if attributed else None
    if customer.last_inbound_at is None or customer.last_inbound_at < now:
        customer.last_inbound_at = now
    if channel == "whatsapp":
        customer.whatsapp_status = "yes"
    lang = customer.language if customer.language in ("bn", "en") else "bn"
    reply_vars: dict[str, Any] = {}
    if intent.kind == "opt_out":
        await record_opt_out(session, customer, "inbound", now, inbound.body)
    elif intent.kind == "opt_in":
        await record_opt_in(session, customer, "inbound", now, inbound.body)
    elif intent.kind == "reorder":
        reminded = await _last_outbound(session, customer.id, since, REMINDER_TEMPLATES)
        reply_vars["items"] = await _reorder(
            session, customer, inbound, intent, reminded or attributed, lang, result, erp
        )
    elif intent.kind == "other":
        await _support_task(session, customer, inbound, result)
    template = _REPLY_TEMPLATE.get(intent.kind)
    if template and template in cfg.templates.templates:
        queued = await queue_messages(
            session,
            [
                OutgoingMessage(
                    dedupe_key=(
                        f"support_ack:{customer.id}:{today.isoformat()}"
                        if intent.kind == "other"
                        else f"reply:{inbound.provider_sid}"
                    ),
                    customer_id=customer.id,
                    channel=channel,
                    template_key=template,
                    variables=reply_vars,
                    purpose="service",
                    task_id=result.task_id,
                )
            ],
            today,
            cfg.messaging,
        )
        result.replies_queued = queued.queued
    await session.flush()
    return result


async def _reorder(
    session: AsyncSession,
    customer: Customer,
    inbound: Inbound,
    intent: Intent,
    reminded: Message | None,
    lang: str,
    result: InboundResult,
    erp: bool,
) -> str:
    """Create the reorder request and the urgent task; returns the items text for the reply."""
    today = local_date(inbound.received_at)
    items = await reorder_items(session, reminded, intent, lang)
    text = items_text(items, lang)
    en_text = items_text(await reorder_items(session, reminded, intent, "en"), "en")
    key = f"reorder:{inbound.provider_sid}"
    await insert_ignore(
        session,
        ReorderRequest,
        [
            {
                "dedupe_key": key,
                "customer_id": customer.id,
                "engagement_id": result.engagement_id,
                "message_id": reminded.id if reminded else None,
                "items": items,
                "status": "open",
                "erp_status": "pending" if erp else "none",
                "created_at": inbound.received_at,
            }
        ],
        ["dedupe_key"],
    )
    request = await session.scalar(select(ReorderRequest).where(ReorderRequest.dedupe_key == key))
    assert request is not None
    ids = await create_tasks(
        session,
        [
            NewTask(
                dedupe_key=key,
                type="reorder",
                customer_id=customer.id,
                due_date=today,
                priority_level=customer.priority_level,
                priority=task_priority(
                    customer.priority_level, float(customer.total_spend or 0), urgent=True
                ),
                reason_bn=f"WhatsApp-এ আবার অর্ডার চেয়েছেন: {text}",
                reason_en=f"Asked on WhatsApp to reorder: {en_text}",
                suggestion={
                    "items": items,
                    "reorder_request_id": request.id,
                    "text": inbound.body[:500],
                    "script_vars": {
                        "bn": {"name": customer.name, "items": text},
                        "en": {"name": customer.name, "items": en_text},
                    },
                },
                script_key="script_reorder",
                agent_id=customer.assigned_agent_id,
            )
        ],
        today,
    )
    request.task_id = ids[key]
    result.reorder_request_id, result.task_id = request.id, ids[key]
    result.erp_payload = erp_payload(request, customer, inbound.body) if erp else None
    return text


async def _support_task(
    session: AsyncSession, customer: Customer, inbound: Inbound, result: InboundResult
) -> None:
    """A support task for the customer's agent, one per customer per day (the text goes on it)."""
    today = local_date(inbound.received_at)
    key = f"support:{customer.id}:{today.isoformat()}"
    ids = await create_tasks(
        session,
        [
            NewTask(
                dedupe_key=key,
                type="support",
                customer_id=customer.id,
                due_date=today,
                priority_level=customer.priority_level,
                priority=task_priority(customer.priority_level, float(customer.total_spend or 0)),
                reason_bn=f'WhatsApp-এ লিখেছেন: "{inbound.body[:300]}"',
                reason_en=f'Wrote on WhatsApp: "{inbound.body[:300]}"',
                suggestion={
                    "text": inbound.body[:500],
                    "script_vars": {
                        lang: {"name": customer.name, "text": inbound.body[:300]}
                        for lang in ("bn", "en")
                    },
                },
                script_key="script_support",
                agent_id=customer.assigned_agent_id,
            )
        ],
        today,
    )
    result.task_id = ids[key]
