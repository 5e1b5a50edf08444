"""The pure half of the reminder step: which lines are due or late, baskets, tasks and messages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from core.cadence_text import day_text, join_names, product_text, quantity_text
from core.channels import ChannelPlan
from core.consumption import CONFIDENCE_TEXT, group_basket, run_out_date
from core.outbox import OutgoingMessage
from core.shopconfig.loader import ShopConfig
from core.tasks import NewTask, task_priority
from core.texts import render

# A day's reminders repeat the same few products, packs and dates: each wording is made once.
_product_text = lru_cache(maxsize=4096)(product_text)
_quantity_text = lru_cache(maxsize=4096)(quantity_text)
_day_text = lru_cache(maxsize=1024)(day_text)


@dataclass(frozen=True)
class Recipient:
    customer_id: int
    name: str
    language: str
    priority_level: str
    customer_type: str
    total_spend: Decimal
    whatsapp_status: str


@dataclass(frozen=True)
class DueItem:
    customer_id: int
    product_id: int
    order_line_id: int
    sku: str
    name: str
    name_bn: str | None
    category: str  # category code
    purchase_date: date
    base_quantity: Decimal
    base_unit: str
    consumption_days: int
    buffer_days: int
    due_date: date
    confidence: str
    due_sent: bool = False

    @property
    def run_out(self) -> date:
        return run_out_date(self.purchase_date, self.consumption_days)


@dataclass
class Basket:
    key: str  # the task's and the message's dedupe_key
    kind: str  # due / late
    recipient: Recipient
    items: list[DueItem]
    plan: ChannelPlan | None = None
    coupon: str | None = None
    task_id: int | None = None


def classify(
    item: DueItem, as_of: date, late_after: int, window: int, late_until: int
) -> str | None:
    """ "due" (due within (as_of - late_after, as_of + window], not yet reminded), "late" (due
    passed by late_after days or more, fewer than late_until), or None."""
    overdue = (as_of - item.due_date).days
    if late_after <= overdue < late_until:
        return "late"
    if not item.due_sent and -window <= overdue < late_after:
        return "due"
    return None


def build_baskets(
    items: Sequence[DueItem],
    recipients: dict[int, Recipient],
    as_of: date,
    late_after: int,
    window: int,
    late_until: int,
) -> list[Basket]:
    """One due basket (if anything is due today) and one late basket per customer."""
    due: dict[int, list[DueItem]] = defaultdict(list)
    late: dict[int, list[DueItem]] = defaultdict(list)
    kinds: dict[tuple[date, bool], str | None] = {}  # a day's items share a few due dates
    for item in items:
        seen = (item.due_date, item.due_sent)
        if seen not in kinds:
            kinds[seen] = classify(item, as_of, late_after, window, late_until)
        kind = kinds[seen]
        if kind == "due":
            due[item.customer_id].append(item)
        elif kind == "late":
            late[item.customer_id].append(item)
    baskets: list[Basket] = []
    for cid in sorted(due):
        chosen = group_basket(due[cid], as_of, window)
        if chosen:
            key = f"reminder-basket:{cid}:{as_of.isoformat()}"
            baskets.append(Basket(key, "due", recipients[cid], chosen))
    for cid in sorted(late):
        key = f"reminder-late:{cid}:{as_of.isoformat()}"
        items_late = sorted(late[cid], key=lambda i: i.due_date)
        baskets.append(Basket(key, "late", recipients[cid], items_late))
    return baskets


@dataclass
class Names:
    """Category wording from the catalog config: Bangla, English, Bangla locative."""

    bn: dict[str, str] = field(default_factory=dict)
    en: dict[str, str] = field(default_factory=dict)
    bn_loc: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, cfg: ShopConfig) -> Names:
        cats = cfg.catalog.categories
        return cls(
            {c.code: c.name_bn for c in cats},
            {c.code: c.name.lower() for c in cats},
            {c.code: c.name_bn_loc or f"{c.name_bn}-এ" for c in cats},
        )

    def short(self, code: str, lang: str) -> str:
        return (self.bn if lang == "bn" else self.en).get(code, code)


def item_reason(item: DueItem, kind: str, cfg: ShopConfig, lang: str) -> str:
    """Why now, for one product: bought what and when, runs out when, how sure."""
    template = cfg.templates.get("reason_late_touch" if kind == "late" else "reason_reminder")
    product = (item.name_bn or item.name) if lang == "bn" else item.name
    variables = {
        "product": _product_text(product),
        "quantity": _quantity_text(item.base_quantity, item.base_unit, lang),
        "bought": _day_text(item.purchase_date, lang),
        "run_out": _day_text(item.run_out, lang),
        "confidence": CONFIDENCE_TEXT[item.confidence][0 if lang == "bn" else 1],
    }
    return render(template.bn if lang == "bn" else template.en, variables, lang)


def _items_text(items: Sequence[DueItem], names: Names, lang: str) -> str:
    parts = [
        f"{names.short(i.category, lang)} ({_quantity_text(i.base_quantity, i.base_unit, lang)})"
        for i in items
    ]
    return join_names(parts, lang)


def task_for(basket: Basket, as_of: date, cfg: ShopConfig, names: Names) -> NewTask:
    """The reminder call task: why now (each product), what to suggest, the script and priority."""
    r = basket.recipient
    first = basket.items[0]
    products = [
        {
            "sku": i.sku,
            "name": i.name,
            "name_bn": i.name_bn,
            "quantity": _quantity_text(i.base_quantity, i.base_unit, "en"),
            "quantity_bn": _quantity_text(i.base_quantity, i.base_unit, "bn"),
            "due_date": i.due_date.isoformat(),
        }
        for i in basket.items
    ]
    rank = ("profile", "low", "medium", "high")
    confidence = min((i.confidence for i in basket.items), key=rank.index)
    script_vars = {
        lang: {
            "name": r.name,
            "product": join_names([names.short(i.category, lang) for i in basket.items], lang),
            "quantity": _quantity_text(first.base_quantity, first.base_unit, lang),
            "offer": "",
        }
        for lang in ("bn", "en")
    }
    return NewTask(
        dedupe_key=basket.key,
        type="reminder_call",
        customer_id=r.customer_id,
        due_date=as_of,
        priority_level=r.priority_level,
        priority=task_priority(
            r.priority_level, float(r.total_spend), urgent=basket.kind == "late"
        ),
        reason_bn="\n".join(item_reason(i, basket.kind, cfg, "bn") for i in basket.items),
        reason_en="\n".join(item_reason(i, basket.kind, cfg, "en") for i in basket.items),
        suggestion={
            "products": products,
            "offer_code": basket.coupon,
            "confidence": confidence,
            "kind": basket.kind,
            "script_vars": script_vars,
        },
        script_key="script_reminder_call",
    )


def message_for(basket: Basket, names: Names) -> OutgoingMessage | None:
    """The customer's message for a basket (seed text for one product), or None."""
    plan = basket.plan
    if plan is None or plan.message_channel is None:
        return None
    lang = basket.recipient.language if basket.recipient.language in ("bn", "en") else "bn"
    items = basket.items
    variables: dict[str, Any]
    if basket.kind == "late":
        template = "late_touch"
        variables = {"product": join_names([names.short(i.category, lang) for i in items], lang)}
    elif basket.coupon:
        template = "reminder_offer"
        variables = {"items": _items_text(items, names, lang), "coupon": basket.coupon}
    elif len(items) == 1:
        template = "reminder"
        variables = {
            "product": names.short(items[0].category, lang),
            "quantity": _quantity_text(items[0].base_quantity, items[0].base_unit, lang),
        }
    else:
        template = "reminder_basket"
        variables = {"items": _items_text(items, names, lang)}
    return OutgoingMessage(
        dedupe_key=basket.key,
        customer_id=basket.recipient.customer_id,
        channel=plan.message_channel,
        template_key=template,
        variables=variables,
        task_id=basket.task_id,
    )


def reminder_rows(basket: Basket, as_of: date) -> list[dict[str, Any]]:
    """One `reminders` row per line of a basket, keyed so the line is never reminded twice."""
    plan = basket.plan
    channel = "none"
    if plan is not None:
        channel = "call" if plan.call else (plan.message_channel or "none")
    prefix = "reminder-late" if basket.kind == "late" else "reminder"
    return [
        {
            "dedupe_key": f"{prefix}:{i.customer_id}:{i.product_id}:{i.order_line_id}",
            "kind": basket.kind,
            "customer_id": i.customer_id,
            "product_id": i.product_id,
            "order_line_id": i.order_line_id,
            "purchase_date": i.purchase_date,
            "consumption_days": i.consumption_days,
            "due_date": i.due_date,
            "confidence": i.confidence,
            "sent_on": as_of,
            "channel": channel,
            "basket_key": basket.key,
        }
        for i in basket.items
    ]
