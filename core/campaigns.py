"""The monthly offer: launch on the start date, keep a holdout, message, pace HOT follow-ups.

- Launch once, on the first run with `start_date <= as_of <= end_date` while the campaign is
  `scheduled` (a late run still launches it, once). Target = the campaign's CDM filters over
  customers who may receive marketing (not opted out, consent per `messaging.consent_policy`,
  a valid number).
- Holdout: the `holdout_pct` of the target with the lowest sha256(campaign key, customer id)
  is kept back — reproducible, independent of row order, recorded in `campaign_members`.
- Everyone else gets a coupon of the campaign's rule and the campaign message
  (`campaign:{campaign}:{customer}` for both).
- HOT members (`campaigns.followup_priority_levels`) get an offer follow-up call, paced over the
  campaign's days: each day takes at most the agents' remaining call capacity (sum of active
  agents' `daily_capacity` minus open calls already due that day), spread evenly. The plan is
  `campaign_members.followup_date`; each day's tasks are created on that day, after that
  morning's reminders, and whatever no longer fits moves to the next campaign day.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.assignment import call_room
from core.clock import Clock, system_clock
from core.coupons import CouponRequest, IssuedCoupon, issue_coupons
from core.digits import to_bangla_digits
from core.membership import discount_value
from core.models import (
    Campaign,
    CampaignMember,
    Category,
    Coupon,
    CouponRule,
    Customer,
    Order,
    OrderLine,
    Product,
    Task,
)
from core.models.orders import COUNTED_STATUSES
from core.outbox import OutgoingMessage, queue_messages
from core.shopconfig import ShopConfig
from core.shopconfig.schema import TargetFilter
from core.sqlbulk import insert_ignore, table_of
from core.tasks import NewTask, create_tasks, task_priority


def holdout_rank(campaign_key: str, customer_id: int) -> str:
    """A customer's reproducible random position within a campaign (lowest are held out)."""
    return hashlib.sha256(f"{campaign_key}:{customer_id}".encode()).hexdigest()


def split_holdout(campaign_key: str, ids: Sequence[int], pct: float) -> set[int]:
    """The ids kept back: round(pct% of the target), by `holdout_rank`."""
    n = round(len(ids) * pct / 100)
    return set(sorted(ids, key=lambda cid: holdout_rank(campaign_key, cid))[:n])


def pace(n: int, days: Sequence[date], room: dict[date, int]) -> list[date | None]:
    """Follow-up days for n members in order: spread evenly, never over a day's room."""
    if not days:
        return [None] * n
    quota = math.ceil(n / len(days)) if n else 0
    take: dict[date, int] = {}
    left = n
    for d in days:
        take[d] = min(quota, max(0, room.get(d, 0)), left)
        left -= take[d]
    for d in days:  # what the even spread could not place goes where room is left, earliest first
        extra = min(left, max(0, room.get(d, 0)) - take[d])
        take[d] += extra
        left -= extra
    plan: list[date | None] = [d for d in days for _ in range(take[d])]
    return plan + [None] * (n - len(plan))


def target_conditions(target: TargetFilter, as_of: date, consent_policy: str) -> list[Any]:
    """SQL conditions on customers for a campaign's CDM filters (every given filter must match)."""
    conds: list[ColumnElement[bool]] = [
        Customer.opted_out_at.is_(None),
        Customer.phone_valid.is_(True),
    ]
    if consent_policy == "erp_flag":
        conds.append(Customer.marketing_consent.is_(True))
    for attr in ("lifecycle_stage", "customer_type", "priority_level", "tier"):
        values = getattr(target, attr)
        if values:
            conds.append(getattr(Customer, attr).in_(values))
    if target.min_orders is not None:
        conds.append(Customer.order_count >= target.min_orders)
    if target.max_orders is not None:
        conds.append(Customer.order_count <= target.max_orders)
    if target.bought_category:
        conds.append(
            exists()
            .where(
                Order.customer_id == Customer.id,
                Order.status.in_(COUNTED_STATUSES),
                Order.order_date <= as_of,
            )
            .where(OrderLine.order_id == Order.id, Product.id == OrderLine.product_id)
            .where(Category.id == Product.category_id, Category.code.in_(target.bought_category))
        )
    return conds


def _date_text(day: date, lang: str) -> str:
    text = f"{day.day}/{day.month}/{day.year}"
    return to_bangla_digits(text) if lang == "bn" else text


def message_variables(
    campaign: Campaign, coupon: IssuedCoupon | None, lang: str, cfg: ShopConfig
) -> dict[str, Any]:
    """Every field a campaign template may use, in the customer's language."""
    bn = lang == "bn"
    discount = None
    if coupon is not None:
        discount = discount_value(coupon.discount_pct) or discount_value(coupon.discount_amount)
    out: dict[str, Any] = {
        "campaign": (campaign.name_bn or campaign.name) if bn else campaign.name,
        "coupon": coupon.code if coupon else "",
        "valid_until": _date_text(coupon.valid_until if coupon else campaign.end_date, lang),
        "discount": discount,
    }
    bought = (campaign.target or {}).get("bought_category") or []
    if bought:
        cats = {c.code: c for c in cfg.catalog.categories}
        rules = [r for r in cfg.crosssell.rules if r.trigger_category == bought[0]]
        rules.sort(key=lambda r: -r.priority)
        trigger = cats.get(bought[0])
        offer = cats.get(rules[0].recommend_category or "") if rules else None
        if trigger is not None:
            out["trigger"] = trigger.name_bn if bn else trigger.name.lower()
        if offer is not None:
            out["offer"] = offer.name_bn if bn else offer.name.lower()
            out["offer_loc"] = (offer.name_bn_loc or offer.name_bn) if bn else offer.name.lower()
    return out


async def launch_campaign(
    session: AsyncSession, campaign: Campaign, as_of: date, cfg: ShopConfig, now: datetime
) -> dict[str, int]:
    """Resolve the target, record members and holdout, issue coupons, queue messages, plan calls."""
    target = TargetFilter.model_validate(campaign.target or {})
    rows = (
        await session.execute(
            select(Customer.id, Customer.language, Customer.priority_level, Customer.total_spend)
            .where(*target_conditions(target, as_of, cfg.messaging.consent_policy))
            .order_by(Customer.id)
        )
    ).all()
    held = split_holdout(campaign.key, [r[0] for r in rows], campaign.holdout_pct)
    treated = [r for r in rows if r[0] not in held]
    hot = set(cfg.campaigns.followup_priority_levels)
    callers = sorted((r for r in treated if r[2] in hot), key=lambda r: (-float(r[3] or 0), r[0]))
    days = [as_of + timedelta(days=i) for i in range((campaign.end_date - as_of).days + 1)]
    room = await call_room(session, days)
    for day, n in await _planned_followups(session, days):
        room[day] = max(0, room[day] - n)
    plan = dict(zip((r[0] for r in callers), pace(len(callers), days, room), strict=True))
    await insert_ignore(
        session,
        CampaignMember,
        [
            {
                "campaign_id": campaign.id,
                "customer_id": cid,
                "holdout": cid in held,
                "followup_date": plan.get(cid),
            }
            for cid, *_ in rows
        ],
        ["campaign_id", "customer_id"],
    )
    keys = {r[0]: f"campaign:{campaign.key}:{r[0]}" for r in treated}
    coupons: dict[str, IssuedCoupon] = {}
    if campaign.coupon_rule_id is not None:
        rule_key = await session.scalar(
            select(CouponRule.key).where(CouponRule.id == campaign.coupon_rule_id)
        )
        assert rule_key is not None
        coupons = await issue_coupons(
            session,
            rule_key,
            [CouponRequest(keys[cid], cid, campaign.id) for cid in keys],
            as_of,
        )
    queued = await queue_messages(
        session,
        [
            OutgoingMessage(
                dedupe_key=keys[cid],
                customer_id=cid,
                channel=campaign.channel,
                template_key=campaign.template_key,
                variables=message_variables(campaign, coupons.get(keys[cid]), lang, cfg),
                campaign_id=campaign.id,
            )
            for cid, lang, *_ in treated
        ],
        as_of,
        cfg.messaging,
    )
    campaign.status = "launched"
    campaign.launched_at = now
    campaign.launched_on = as_of
    await session.flush()
    return {
        "campaign_members": len(rows),
        "campaign_holdout": len(held),
        "campaign_messages": queued.queued,
        "followups_planned": sum(1 for d in plan.values() if d is not None),
        "followups_unplanned": sum(1 for d in plan.values() if d is None),
    }


async def _planned_followups(session: AsyncSession, days: Sequence[date]) -> list[tuple[date, int]]:
    """Follow-ups other launched campaigns planned on these days and not yet turned into tasks."""
    rows = await session.execute(
        select(CampaignMember.followup_date, func.count())
        .where(
            CampaignMember.followup_date >= min(days),
            CampaignMember.followup_date <= max(days),
            ~_has_followup_task(),
        )
        .group_by(CampaignMember.followup_date)
    )
    return [(d, int(n)) for d, n in rows.all() if d is not None]


def _has_followup_task() -> Any:
    return exists().where(
        Task.type == "offer_followup",
        Task.customer_id == CampaignMember.customer_id,
        Task.campaign_id == CampaignMember.campaign_id,
    )


async def create_due_followups(session: AsyncSession, as_of: date) -> dict[str, int]:
    """Create today's planned follow-up calls within today's room; move the rest a day on."""
    rows = (
        await session.execute(
            select(
                CampaignMember.campaign_id,
                CampaignMember.customer_id,
                Campaign.key,
                Campaign.name,
                Campaign.name_bn,
                Campaign.end_date,
                Customer.priority_level,
                Customer.total_spend,
                Coupon.code,
            )
            .join(Campaign, Campaign.id == CampaignMember.campaign_id)
            .join(Customer, Customer.id == CampaignMember.customer_id)
            .outerjoin(
                Coupon,
                and_(
                    Coupon.campaign_id == CampaignMember.campaign_id,
                    Coupon.customer_id == CampaignMember.customer_id,
                ),
            )
            .where(
                Campaign.status == "launched",
                CampaignMember.holdout.is_(False),
                CampaignMember.followup_date <= as_of,
                ~_has_followup_task(),
            )
            .order_by(
                CampaignMember.followup_date,
                Customer.total_spend.desc(),
                CampaignMember.customer_id,
            )
        )
    ).all()
    if not rows:
        return {"followups_created": 0, "followups_moved": 0, "followups_dropped": 0}
    room = (await call_room(session, [as_of]))[as_of]
    today, later = rows[:room], rows[room:]
    tasks = [
        NewTask(
            dedupe_key=f"offer_followup:{key}:{cid}",
            type="offer_followup",
            customer_id=cid,
            due_date=as_of,
            priority_level=level,
            priority=task_priority(level, float(spend or 0)),
            reason_bn=f"{name_bn or name}: অফার নিয়ে ফলো-আপ কল" + (f" (কুপন {code})" if code else ""),
            reason_en=f"{name}: follow up the offer" + (f" (coupon {code})" if code else ""),
            suggestion={"campaign": key, "campaign_name": name, "offer_code": code, "products": []},
            script_key="script_offer_followup",
            campaign_id=campaign_id,
        )
        for campaign_id, cid, key, name, name_bn, _end, level, spend, code in today
    ]
    created = await create_tasks(session, tasks, as_of)
    moves = [
        {
            "b_campaign": r[0],
            "b_customer": r[1],
            "b_day": as_of + timedelta(days=1) if as_of < r[5] else None,
        }
        for r in later
    ]
    if moves:
        members = table_of(CampaignMember)
        await session.execute(
            update(members)
            .where(
                members.c.campaign_id == bindparam("b_campaign"),
                members.c.customer_id == bindparam("b_customer"),
            )
            .values(followup_date=bindparam("b_day")),
            moves,
        )
    return {
        "followups_created": len(created),
        "followups_moved": sum(1 for m in moves if m["b_day"] is not None),
        "followups_dropped": sum(1 for m in moves if m["b_day"] is None),
    }


async def campaign_step(
    session: AsyncSession, as_of: date, cfg: ShopConfig, clock: Clock = system_clock
) -> dict[str, int]:
    """The daily campaign job: end finished campaigns, launch due ones, create today's calls."""
    ended = await session.execute(
        update(Campaign)
        .where(Campaign.status == "launched", Campaign.end_date < as_of)
        .values(status="ended")
    )
    due = (
        await session.scalars(
            select(Campaign)
            .where(
                Campaign.status == "scheduled",
                Campaign.start_date <= as_of,
                Campaign.end_date >= as_of,
            )
            .order_by(Campaign.start_date, Campaign.id)
        )
    ).all()
    out: dict[str, int] = {"campaigns_launched": 0, "campaigns_ended": ended.rowcount or 0}  # type: ignore[attr-defined]
    for campaign in due:
        launched = await launch_campaign(session, campaign, as_of, cfg, clock())
        out["campaigns_launched"] += 1
        for k, v in launched.items():
            out[k] = out.get(k, 0) + v
    out.update(await create_due_followups(session, as_of))
    return out
