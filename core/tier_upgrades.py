"""Tier upgrades for the whole shop in set-based SQL, announced only when they are news.

One INSERT … SELECT collects every upgrade in a temporary table (counted orders up to `as_of`
re-counted per candidate, the tier by `tiers.tier_rank_sql`, the mirror of `tier_for`); one
UPDATE … FROM raises the tiers; engagements and `membership_events` are INSERT … SELECT from it.
Only what people see — the congratulation message and call for a recent upgrade, the card task —
is built in Python, for those rows alone: a first run over history upgrades 100,000 customers
quietly without bringing them into the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_noon
from core.db import UTCDateTime
from core.digits import to_bangla_digits
from core.models import Customer, Engagement, MembershipEvent, Order
from core.models.orders import COUNTED_STATUSES
from core.outbox import OutgoingMessage, queue_messages
from core.shopconfig import ShopConfig
from core.shopconfig.schema import TierDef
from core.sqlbulk import analyze_scratch, dialect_insert, scratch_table
from core.tasks import NewTask, create_tasks, task_priority
from core.texts import money
from core.tiers import code_of_rank_sql, discount_value, rank_of_sql, tier_rank_sql

HISTORY_NOTE = " (from history, not announced)"

# this step's scratch table: per connection, created and dropped inside the step's transaction
_found = Table(
    "membership_upgrades_found",
    MetaData(),
    Column("customer_id", BigInteger, primary_key=True),
    Column("from_tier", String(16), nullable=False),
    Column("to_tier", String(16), nullable=False),
    Column("order_count", Integer, nullable=False),
    Column("total_spend", Numeric(14, 2), nullable=False),
    Column("last_order_date", Date, nullable=False),
    Column("announced", Boolean, nullable=False),  # earned recently: message and call
    Column("fresh", Boolean, nullable=False),  # no membership event for it yet
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class Upgrade:
    customer_id: int
    name: str
    priority_level: str
    from_tier: str
    to_tier: str
    order_count: int
    total_spend: Decimal
    last_order_date: date


async def apply_upgrades(session: AsyncSession, as_of: date, cfg: ShopConfig) -> dict[str, int]:
    """Raise every tier earned by `as_of`; write each upgrade's event, engagement, tasks, message."""
    async with scratch_table(session, _found):
        await _collect(session, as_of, cfg)
        return await _write(session, as_of, cfg)


async def _collect(session: AsyncSession, as_of: date, cfg: ShopConfig) -> None:
    tiers = cfg.membership.tiers
    candidates = select(Customer.id).where(
        Customer.tier != "permanent",
        tier_rank_sql(Customer.order_count, Customer.total_spend, tiers)
        > rank_of_sql(Customer.tier),
    )
    totals = (
        select(
            Order.customer_id.label("customer_id"),
            func.count().label("n"),
            func.round(func.coalesce(func.sum(Order.total), 0), 2).label("spend"),
            func.max(Order.order_date).label("last_order_date"),
        )
        .where(
            Order.status.in_(COUNTED_STATUSES),
            Order.order_date <= as_of,
            Order.customer_id.in_(candidates),
        )
        .group_by(Order.customer_id)
        .subquery()
    )
    reached = tier_rank_sql(totals.c.n, totals.c.spend, tiers)
    to_tier = code_of_rank_sql(reached)
    recent = as_of - timedelta(days=cfg.membership.announce_within_days)
    known = exists().where(
        MembershipEvent.customer_id == Customer.id, MembershipEvent.to_tier == to_tier
    )
    rows = (
        select(
            Customer.id,
            Customer.tier,
            to_tier,
            totals.c.n,
            totals.c.spend,
            totals.c.last_order_date,
            totals.c.last_order_date >= recent,
            ~known,
        )
        .join(totals, totals.c.customer_id == Customer.id)
        .where(reached > rank_of_sql(Customer.tier))
    )
    await session.execute(_found.insert().from_select([c.name for c in _found.columns], rows))
    await analyze_scratch(session, _found)


async def _write(session: AsyncSession, as_of: date, cfg: ShopConfig) -> dict[str, int]:
    f = _found.c
    found, fresh, from_history = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((f.fresh, 1), else_=0)), 0),
                func.coalesce(func.sum(case((and_(f.fresh, ~f.announced), 1), else_=0)), 0),
            )
        )
    ).one()
    if not found:
        return {"upgrades": 0, "upgrades_from_history": 0, "upgrade_messages": 0, "card_tasks": 0}
    for tier in {t.code for t in cfg.membership.tiers}:  # IN runs faster than UPDATE … FROM
        await session.execute(
            update(Customer)
            .values(tier=tier, tier_since=as_of)
            .where(Customer.id.in_(select(f.customer_id).where(f.to_tier == tier)))
            .execution_options(synchronize_session=False)
        )
    engagements = select(
        f.customer_id,
        literal("membership"),
        literal("system"),
        literal("out"),
        f.to_tier,
        literal("tier ") + f.from_tier + literal(" → ") + f.to_tier,
        literal(local_noon(as_of), UTCDateTime),
        literal(as_of, Date),
    ).where(f.fresh)
    names = ["customer_id", "kind", "channel", "direction", "outcome", "body"]
    await session.execute(
        dialect_insert(session, Engagement).from_select(
            [*names, "occurred_at", "occurred_on"], engagements
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        spend_text: Any = cast(f.total_spend, Text)
    else:
        spend_text = func.printf("%.2f", f.total_spend)
    events = select(
        literal("membership:") + cast(f.customer_id, String) + literal(":") + f.to_tier,
        f.customer_id,
        f.from_tier,
        f.to_tier,
        literal(as_of, Date),
        cast(f.order_count, String)
        + literal(" orders, spend ")
        + spend_text
        + case((f.announced, ""), else_=HISTORY_NOTE),
    ).where(f.fresh)
    await session.execute(
        dialect_insert(session, MembershipEvent)
        .from_select(
            ["dedupe_key", "customer_id", "from_tier", "to_tier", "event_date", "reason"], events
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    announced, cards = await _announce(session, as_of, cfg)
    return {
        "upgrades": int(fresh),
        "upgrades_from_history": int(from_history),
        "upgrade_messages": announced,
        "card_tasks": cards,
    }


async def _noticed(session: AsyncSession, cfg: ShopConfig) -> list[tuple[Upgrade, bool]]:
    """The upgrades someone hears of: recent ones (message, call) and card tiers (card task)."""
    f = _found.c
    card_tiers = [t.code for t in cfg.membership.tiers if t.card]
    rows = await session.execute(
        select(
            f.customer_id,
            Customer.name,
            Customer.priority_level,
            f.from_tier,
            f.to_tier,
            f.order_count,
            f.total_spend,
            f.last_order_date,
            f.announced,
        )
        .join(Customer, Customer.id == f.customer_id)
        .where(or_(f.announced, f.to_tier.in_(card_tiers)))
        .order_by(f.customer_id)
    )
    out = []
    for cid, name, level, old, new, n, spend, last, announced in rows.all():
        spend = Decimal(str(spend)).quantize(Decimal("0.01"))
        out.append((Upgrade(cid, name, level, old, new, int(n), spend, last), bool(announced)))
    return out


def _reason(u: Upgrade, t: TierDef) -> tuple[str, str]:
    bn = (
        f"{t.name_bn} মেম্বার হয়েছেন ({u.order_count}টি অর্ডার, {money(u.total_spend, 'bn')})। "
        f"অভিনন্দন জানান, সুবিধা বলুন: {t.benefits_bn}"
    )
    en = (
        f"Became a {t.name} Member ({u.order_count} orders, {money(u.total_spend, 'en')}). "
        f"Congratulate and explain: {t.benefits_en}"
    )
    return to_bangla_digits(bn), en


def upgrade_tasks(
    upgrades: Sequence[tuple[Upgrade, bool]], as_of: date, cfg: ShopConfig
) -> list[NewTask]:
    """The congratulation call of each announced upgrade and the card task of card tiers."""
    by_code: dict[str, TierDef] = {t.code: t for t in cfg.membership.tiers}
    tasks: list[NewTask] = []
    for u, announced in upgrades:
        t = by_code[u.to_tier]
        bn, en = _reason(u, t)
        common: dict[str, Any] = {
            "customer_id": u.customer_id,
            "due_date": as_of,
            "priority_level": u.priority_level,
            "priority": task_priority(u.priority_level, float(u.total_spend)),
            "reason_bn": bn,
            "reason_en": en,
            "suggestion": {
                "tier": t.code,
                "tier_name": t.name,
                "discount_pct": discount_value(t.discount_pct),
                "benefits_bn": t.benefits_bn,
                "benefits_en": t.benefits_en,
            },
        }
        if announced:
            tasks.append(
                NewTask(
                    dedupe_key=f"membership_upgrade:{u.customer_id}:{u.to_tier}",
                    type="membership_upgrade",
                    script_key="script_membership_upgrade",
                    **common,
                )
            )
        if t.card:
            tasks.append(
                NewTask(
                    dedupe_key=f"card:{u.customer_id}:{u.to_tier}",
                    type="card_generation",
                    script_key="script_card_generation",
                    **common,
                )
            )
    return tasks


async def _announce(session: AsyncSession, as_of: date, cfg: ShopConfig) -> tuple[int, int]:
    noticed = await _noticed(session, cfg)
    tasks = upgrade_tasks(noticed, as_of, cfg)
    task_ids = await create_tasks(session, tasks, as_of)
    by_code: dict[str, TierDef] = {t.code: t for t in cfg.membership.tiers}
    purpose = cfg.templates.get("membership_upgrade").purpose
    queued = await queue_messages(
        session,
        [
            OutgoingMessage(
                dedupe_key=f"membership:{u.customer_id}:{u.to_tier}",
                customer_id=u.customer_id,
                channel="whatsapp",
                template_key="membership_upgrade",
                variables={
                    "tier": by_code[u.to_tier].name,
                    "discount": discount_value(by_code[u.to_tier].discount_pct),
                },
                purpose="service" if purpose == "service" else "marketing",
                task_id=task_ids.get(f"membership_upgrade:{u.customer_id}:{u.to_tier}"),
            )
            for u, announced in noticed
            if announced
        ],
        as_of,
        cfg.messaging,
    )
    return queued.queued, sum(1 for t in tasks if t.type == "card_generation")
