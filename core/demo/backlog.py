"""The reminders the shop's daily runs already sent before as_of, so today is an ordinary day.

Without them the first run would remind a week of overdue purchases at once. A purchase due
before as_of gets the `due` reminder its due day's run sent; one due `late_touch_after_days` or
more before yesterday also gets the late touch that run sent. Keys, rows and due dates are the
reminder step's own (core.reminders.due_items, core.reminder_plan), so the step sees them as its
past work.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_noon
from core.demo.writer import bulk_insert
from core.models import Reminder
from core.reminders import due_items
from core.shopconfig.loader import ShopConfig


async def record_past_reminders(session: AsyncSession, as_of: date, cfg: ShopConfig) -> int:
    """Write the reminder rows of the runs before as_of; returns how many."""
    late_after = cfg.consumption.late_touch_after_days
    late_until = cfg.consumption.late_touch_until_days
    items, recipients = await due_items(session, as_of, cfg)  # today's window: all it needs
    rows = []
    for item in items:
        overdue = (as_of - item.due_date).days
        if not 0 < overdue < late_until:
            continue
        channel = "whatsapp" if recipients[item.customer_id].whatsapp_status == "yes" else "sms"
        sent = [("due", "reminder", item.due_date)]
        if overdue > late_after:
            sent.append(("late", "reminder-late", item.due_date + timedelta(days=late_after)))
        for kind, prefix, day in sent:
            basket = "reminder-basket" if kind == "due" else "reminder-late"
            rows.append(
                {
                    "dedupe_key": f"{prefix}:{item.customer_id}:{item.product_id}:{item.order_line_id}",
                    "kind": kind,
                    "customer_id": item.customer_id,
                    "product_id": item.product_id,
                    "order_line_id": item.order_line_id,
                    "purchase_date": item.purchase_date,
                    "consumption_days": item.consumption_days,
                    "due_date": item.due_date,
                    "confidence": item.confidence,
                    "sent_on": day,
                    "channel": channel,
                    "basket_key": f"{basket}:{item.customer_id}:{day.isoformat()}",
                    "created_at": local_noon(day),
                }
            )
    rows.sort(key=lambda r: (r["sent_on"], r["dedupe_key"]))
    await bulk_insert(session, Reminder, rows)
    return len(rows)
