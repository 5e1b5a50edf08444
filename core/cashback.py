"""The wallet's cashback: tier cashback credited per counted order, reversed once on a return.

Append-only `wallet_ledger` rows, each exactly once by `dedupe_key` (`cashback:{order}`,
`cashback-reversal:{order}`), written by one INSERT … SELECT each.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, case, cast, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.models import Customer, MembershipEvent, Order, WalletEntry
from core.models.orders import COUNTED_STATUSES
from core.shopconfig.schema import MembershipConfig
from core.sqlbulk import dialect_insert, unindexed


def _key(prefix: str, order_id: Any) -> Any:
    return literal(prefix) + cast(order_id, String)


async def credit_cashback(session: AsyncSession, as_of: date, cfg: MembershipConfig) -> int:
    """Credit tier cashback for counted orders not credited yet (one INSERT … SELECT)."""
    paying = [t for t in cfg.tiers if t.cashback_pct > 0]
    if not paying:
        return 0
    pct = case(*((Customer.tier == t.code, t.cashback_pct) for t in paying), else_=0)
    first_event = (
        select(func.min(MembershipEvent.event_date))
        .where(MembershipEvent.customer_id == Customer.id)
        .scalar_subquery()
    )
    member_since = func.coalesce(first_event, Customer.tier_since)
    key = _key("cashback:", Order.id)
    done = aliased(WalletEntry)
    rows = (
        select(
            key,
            Order.customer_id,
            Order.id,
            literal("cashback"),
            func.round(Order.total * pct / 100, 2),
            literal(as_of),
            literal("tier cashback ") + Customer.tier,
        )
        .select_from(Order)
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Order.status.in_(COUNTED_STATUSES),
            # the date window by itself would pick the order-date index and a lookup per
            # order; the customer's own range in (customer, date, status, total) is cheaper
            unindexed(session, Order.order_date) <= as_of,
            unindexed(session, Order.order_date)
            >= as_of - timedelta(days=cfg.cashback_lookback_days),
            Customer.tier.in_([t.code for t in paying]),
            Order.order_date >= member_since,
            Order.total > 0,
            ~exists().where(done.dedupe_key == key),
        )
    )
    cols = ["dedupe_key", "customer_id", "order_id", "kind", "amount", "entry_date", "note"]
    stmt = dialect_insert(session, WalletEntry).from_select(cols, rows)
    result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]


async def reverse_cashback(session: AsyncSession, as_of: date) -> int:
    """Reverse, once, the cashback of orders now returned or cancelled."""
    credit = aliased(WalletEntry)
    done = aliased(WalletEntry)
    key = _key("cashback-reversal:", credit.order_id)
    rows = (
        select(
            key,
            credit.customer_id,
            credit.order_id,
            literal("reversal"),
            -credit.amount,
            literal(as_of),
            literal("order ") + Order.status,
        )
        .select_from(credit)
        .join(Order, Order.id == credit.order_id)
        .where(
            credit.kind == "cashback",
            Order.status.not_in(COUNTED_STATUSES),
            ~exists().where(done.dedupe_key == key),
        )
    )
    cols = ["dedupe_key", "customer_id", "order_id", "kind", "amount", "entry_date", "note"]
    stmt = dialect_insert(session, WalletEntry).from_select(cols, rows)
    result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
