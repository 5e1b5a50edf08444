"""The daily reminder step: due purchases → one basket reminder per customer, and late touches.

The SQL (core.reminder_query) finds each (customer, product — or substitute category)'s latest
purchase near its due date, and the purchase dates of those with enough history for a learned
rhythm. Everything after that is pure: apply the rhythm, classify, group into baskets, choose
channels, word tasks and messages.

Exactly once: each reminded line gets a `reminders` row (`reminder:{customer}:{product}:{line}`
for the due reminder, `reminder-late:…` for the late touch), and the step never reminds a line
that has one. A basket's task and message are keyed `reminder-basket:{customer}:{as_of}`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.channels import Contact, contact_tier, pick_warm_calls, plan_contact, warm_call_budget
from core.consumption import learned_days, next_reminder_date, purchase_intervals
from core.coupons import CouponRequest, issue_coupons
from core.models import Agent, Reminder, Task
from core.outbox import queue_messages
from core.purchase_history import purchase_dates
from core.reminder_plan import (
    Basket,
    DueItem,
    Names,
    Recipient,
    build_baskets,
    message_for,
    reminder_rows,
    task_for,
)
from core.reminder_query import latest_purchases_query, substitute_category_ids
from core.reminder_schedule import Candidate, Schedule, open_schedule
from core.shopconfig.loader import ShopConfig
from core.sqlbulk import insert_ignore
from core.tasks import create_tasks
from core.units import base_unit_of


def _decimal(value: object) -> Decimal:
    """A NUMERIC result as Decimal (drivers return Decimal already; floats via their text)."""
    return value if type(value) is Decimal else Decimal(str(value or 0))


async def due_items(
    session: AsyncSession,
    as_of: date,
    cfg: ShopConfig,
    *,
    window_only: bool = True,
    schedule: Schedule | None = None,
) -> tuple[list[DueItem], dict[int, Recipient]]:
    """Latest purchases near their reminder date (all latest purchases without `window_only`),
    with learned rhythms applied, and the customers they belong to.

    With a `schedule`, only the latest lines it holds are looked at, and every candidate's due
    date is handed to it (also those a learned rhythm moves out of today's window)."""
    cc = cfg.consumption
    substitutes = await substitute_category_ids(session, cc.substitutes_within_category)
    latest = schedule.latest if schedule is not None else None
    older = schedule.older if schedule is not None else None
    stmt = latest_purchases_query(
        session, as_of, cfg, substitutes, window_only=window_only, latest=latest, older=older
    )
    # in (customer, key) order whatever the plan: a basket's items due the same day keep it, so
    # its wording must not depend on how the rows were read (FULL or through the schedule)
    rows = sorted((await session.execute(stmt)).all(), key=lambda r: (r.customer_id, r.pkey))
    learnable = {(r.customer_id, r.pkey) for r in rows if r.learnable}
    history = await purchase_dates(session, as_of, cfg, substitutes, learnable)
    # the window in days since the due date: basket-able from -early, late touch until `late`
    early, late = -cc.basket_window_days, cc.late_touch_until_days
    units: dict[str, str] = {}
    items: list[DueItem] = []
    recipients: dict[int, Recipient] = {}
    for r in rows:
        customer_id = r.customer_id
        days, buffer, confidence = int(r.days), int(r.buffer_days), "profile"
        if learnable and (dates := history.get((customer_id, r.pkey))):
            days, confidence = learned_days(
                days, purchase_intervals(dates), cc.learned_rhythm, r.min_days, r.max_days
            )
        due_date = next_reminder_date(r.order_date, days, buffer)
        if schedule is not None:
            found = history.get((customer_id, r.pkey))
            schedule.seen.append(
                Candidate(
                    customer_id, r.line_id, due_date, bool(r.due_sent), found[0] if found else None
                )
            )
        if window_only and not early <= (as_of - due_date).days < late:
            continue  # a learned rhythm moved it out of today's window
        unit = r.unit
        if unit not in units:
            units[unit] = base_unit_of(unit)
        items.append(
            DueItem(
                customer_id,
                r.product_id,
                r.line_id,
                r.sku,
                r.name,
                r.name_bn,
                r.category,
                r.order_date,
                _decimal(r.base_quantity),
                units[unit],
                days,
                buffer,
                due_date,
                confidence,
                bool(r.due_sent),
            )
        )
        if customer_id not in recipients:
            recipients[customer_id] = Recipient(
                customer_id,
                r.customer_name,
                r.language,
                r.priority_level,
                r.customer_type,
                _decimal(r.total_spend),
                r.whatsapp_status,
            )
    return items, recipients


async def team_load(session: AsyncSession, as_of: date) -> tuple[int, int]:
    """(daily capacity of active agents, open tasks due by as_of) for the WARM call budget."""
    capacity = await session.scalar(
        select(func.coalesce(func.sum(Agent.daily_capacity), 0)).where(
            Agent.active.is_(True), Agent.role == "agent"
        )
    )
    open_due = await session.scalar(
        select(func.count()).where(Task.status == "open", Task.due_date <= as_of)
    )
    return int(capacity or 0), int(open_due or 0)


async def plan_channels(
    session: AsyncSession, baskets: list[Basket], as_of: date, cfg: ShopConfig
) -> None:
    """Set each basket's channel plan; WARM calls only within the team's spare capacity."""
    contacts = {
        b.key: Contact(
            b.recipient.priority_level,
            b.recipient.customer_type,
            b.recipient.total_spend,
            b.recipient.whatsapp_status,
        )
        for b in baskets
    }
    tiers = {k: contact_tier(c, cfg.segments) for k, c in contacts.items()}
    capacity, open_due = await team_load(session, as_of)
    hot_calls = sum(1 for t in tiers.values() if t == "hot")
    budget = warm_call_budget(capacity, open_due, hot_calls, cfg.team.warm_call_spare_capacity_pct)
    warm = [(b.key, float(b.recipient.total_spend)) for b in baskets if tiers[b.key] == "warm"]
    calls = pick_warm_calls(warm, budget)
    for b in baskets:
        b.plan = plan_contact(contacts[b.key], cfg.segments, warm_call=b.key in calls)


async def reminders_step(
    session: AsyncSession, as_of: date, cfg: ShopConfig, *, full: bool = False
) -> dict[str, int]:
    """Create today's reminder tasks, messages and late touches, once per purchase line.

    Only the customers the reminder schedule says can get one today are looked at (`full`:
    everyone, as on the first run, after a rule change or for an earlier date)."""
    cc = cfg.consumption
    schedule = await open_schedule(session, as_of, cfg, full=full)
    items, recipients = await due_items(session, as_of, cfg, schedule=schedule)
    baskets = build_baskets(
        items,
        recipients,
        as_of,
        cc.late_touch_after_days,
        cc.basket_window_days,
        cc.late_touch_until_days,
    )
    await plan_channels(session, baskets, as_of, cfg)
    names = Names.of(cfg)

    offers = [b for b in baskets if b.kind == "due" and b.plan and b.plan.winback_offer]
    if offers and cc.cold_offer_coupon:
        requests = [
            CouponRequest(
                f"reminder-offer:{b.recipient.customer_id}:{as_of.isoformat()}",
                b.recipient.customer_id,
            )
            for b in offers
        ]
        issued = await issue_coupons(session, cc.cold_offer_coupon, requests, as_of)
        for b, req in zip(offers, requests, strict=True):
            b.coupon = issued[req.dedupe_key].code

    calls = [b for b in baskets if b.plan and b.plan.call]
    task_ids = await create_tasks(session, [task_for(b, as_of, cfg, names) for b in calls], as_of)
    for b in calls:
        b.task_id = task_ids[b.key]
    messages = [m for b in baskets if (m := message_for(b, names)) is not None]
    queued = await queue_messages(session, messages, as_of, cfg.messaging)
    rows = [row for b in baskets for row in reminder_rows(b, as_of)]
    recorded = await insert_ignore(session, Reminder, rows, ["dedupe_key"])
    evaluated = await schedule.close(baskets)
    return {
        "reminded_lines": sum(len(b.items) for b in baskets if b.kind == "due"),
        "late_lines": sum(len(b.items) for b in baskets if b.kind == "late"),
        "baskets": sum(1 for b in baskets if b.kind == "due"),
        "late_touches": sum(1 for b in baskets if b.kind == "late"),
        "recorded": recorded,
        "tasks": len(calls),
        "messages": queued.queued,
        "deferred": queued.deferred,
        "skipped": sum(queued.skipped.values()),
        "coupons": len(offers) if cc.cold_offer_coupon else 0,
        "evaluated": evaluated,
        "full": int(schedule.full),
    }
